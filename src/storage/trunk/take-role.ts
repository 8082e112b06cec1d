/**
 * Taking the trunk server role (store.ts): every peer is to get the whole binlog again (its
 * marks go), the free list is loaded and checked against the files the storage's binlog names,
 * and, when the copy of the binlog cannot be vouched for (vouch.ts), its free space is set aside
 * and trunk file ids jump past any the last trunk server may have made unseen.
 */
import { join } from 'node:path';
import type { Logger } from '../../common/index.js';
import type { TrunkConfig } from '../../config/types.js';
import type { TrunkBinlog } from './binlog.js';
import type { TrunkIds } from './ids.js';
import { recentTrunkFiles } from './reconcile.js';
import { TrunkServer } from './server.js';
import { TRUNK_HEADER_SIZE, type TrunkLocation, type TrunkSlot } from './slot.js';
import { slotHolds, slotOccupied, zeroSlot } from './slot-io.js';
import { trunkDataPath } from './state.js';
import type { TrunksDeps } from './store.js';
import { removeMarks } from './sync.js';
import { type CopyVouch, UNSEEN_ID_GAP } from './vouch.js';

export interface TakeRole {
  readonly deps: TrunksDeps;
  readonly params: TrunkConfig;
  readonly binlog: TrunkBinlog;
  readonly log: Logger;
  readonly ids: TrunkIds;
  readonly vouch: CopyVouch;
  /** The trunk file a slot is in (absolute path). */
  readonly pathOf: (slot: TrunkSlot) => string;
}

export async function takeRole(t: TakeRole): Promise<TrunkServer> {
  const { config, paths, dist, binlogDir, binlogIndex } = t.deps;
  await removeMarks(join(config.basePath, 'data', 'trunk'), config.durableWrites);
  const server = await TrunkServer.start({
    params: t.params,
    storeRoots: paths.paths,
    binlog: t.binlog,
    dataPath: trunkDataPath(config.basePath),
    durable: config.durableWrites,
    logger: t.log,
    nextId: () => t.ids.next(),
    seenId: (id) => t.ids.seen(id),
    subdirsFor: (id) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(id);
      return dist.next(b.toString('base64url'));
    },
    occupied: (slot) => slotOccupied(t.pathOf(slot), slot),
    ...(binlogDir !== undefined
      ? {
          recentFiles: () => recentTrunkFiles(binlogDir, binlogIndex?.() ?? 0),
          holds: (loc: TrunkLocation) => slotHolds(t.pathOf(loc.slot), loc),
        }
      : {}),
    clearHeader: (slot) =>
      zeroSlot(t.pathOf(slot), { ...slot, size: TRUNK_HEADER_SIZE }, config.durableWrites).catch(
        (err: unknown) => {
          // The trunk file is not here (the upload went into a peer's copy): nothing to clear.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        },
      ),
  });
  if (!t.vouch.canVouch) {
    const { blocks, bytes } = await server.setAside();
    await t.ids.seen(t.ids.current() + UNSEEN_ID_GAP);
    t.log.warn('trunk binlog copy not known whole: its free space set aside, new trunk files only', {
      blocks,
      bytes,
    });
  }
  await t.vouch.own();
  return server;
}
