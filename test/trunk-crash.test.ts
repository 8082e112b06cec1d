/**
 * Kill -9 the storage (trunk server, durable writes) during a burst of small concurrent uploads
 * into trunk files: after a restart every answered upload is intact, and the free list the
 * storage keeps (storage_trunk.dat + trunk binlog, loaded as it loads them) has no block that
 * overlaps a file the binlog names, so new uploads after the restart clobber nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import {
  headerMatches,
  loadFreeSpace,
  locate,
  TrunkBinlog,
  type TrunkSlot,
  trunkFilePath,
} from '../src/storage/trunk/index.js';
import { type Proc, startStorageProc, startTrackerProc } from './helpers/cluster.js';
import { trackerClient } from './helpers/direct.js';
import { eventually, tempDir } from './helpers/node-process.js';
import { TRUNK_TRACKER_KEYS } from './helpers/trunk-store.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const remoteOf = (fileId: string) => fileId.slice(fileId.indexOf('/') + 1);
const procs: Proc[] = [];

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop().catch(() => {});
});

function overlaps(a: TrunkSlot, b: TrunkSlot): boolean {
  return (
    a.storePathIndex === b.storePathIndex &&
    a.subdirHigh === b.subdirHigh &&
    a.subdirLow === b.subdirLow &&
    a.id === b.id &&
    a.offset < b.offset + b.size &&
    b.offset < a.offset + a.size
  );
}

/** Trunk names the binlog holds as created and not deleted since. */
async function binlogLive(base: string): Promise<Set<string>> {
  const live = new Set<string>();
  const text = await readFile(join(base, 'data', 'sync', 'binlog.000'), 'utf8');
  for (const line of text.split('\n')) {
    const [, op, name] = line.split(' ');
    if (name?.length !== 60) continue;
    if (op === 'C' || op === 'c') live.add(name);
    if (op === 'D' || op === 'd') live.delete(name);
  }
  return live;
}

describe('kill -9 during a burst of small durable uploads into trunk files', () => {
  it.each<[string, Record<string, string>]>([
    ['', {}],
    // The kill may land in a compression, or between its steps.
    [' (the trunk binlog compressed every second)', { trunk_compress_binlog_interval: '1' }],
  ])(
    'keeps every answered upload, and the free list clear of every file%s',
    async (_, keys) => {
      const compressing = keys.trunk_compress_binlog_interval !== undefined;
      const tracker = await startTrackerProc({
        sets: Object.entries({ ...TRUNK_TRACKER_KEYS, ...keys }).map(([k, v]) => `${k}=${v}`),
      });
      procs.push(tracker);
      const base = await tempDir('fdfs-trunk-crash-');
      const opts = {
        host: compressing ? '127.0.0.6' : '127.0.0.4',
        group: 'group1',
        trackers: [tracker],
        base,
        // info: the compressions' log lines show they ran before the kill.
        sets: ['durable_writes=true', ...(compressing ? ['log_level=info'] : [])],
      };
      let storage = await startStorageProc(opts);
      procs.push(storage);
      const client = trackerClient(tracker);
      // Writable, and the trunk server role taken (until then small uploads are normal files).
      await eventually(async () => {
        const probe = await client.upload(Buffer.from('probe'), { ext: 'txt' });
        if (decodeRemoteFilename(remoteOf(probe)).type !== 'trunk') throw new Error('not packing yet');
      }, 30_000);

      const acked = new Map<string, Buffer>();
      let stop = false;
      const writers = Array.from({ length: 16 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const data = randomBytes(100 + ((w * 7919 + i * 4099) % 20_000));
          try {
            acked.set(await client.upload(data, { ext: 'bin' }), data);
          } catch {
            return; // the storage died under us
          }
        }
      });
      await eventually(async () => {
        if (acked.size < 300) throw new Error('waiting for answered uploads');
        const compressions = storage.stderr.filter((l) => l.includes('trunk binlog compressed')).length;
        if (compressing && compressions < 2) throw new Error('waiting for compressions under the burst');
      }, 60_000);
      await storage.kill9();
      stop = true;
      await Promise.all(writers);
      await client.close();
      const answered = new Map(acked);
      for (const id of answered.keys()) expect(decodeRemoteFilename(remoteOf(id)).type).toBe('trunk');

      storage = await startStorageProc(opts);
      procs.push(storage);
      const after = trackerClient(tracker);
      try {
        await eventually(() => after.upload(Buffer.from('after'), { ext: 'txt' }), 30_000);
        for (const [id, data] of answered) expect(sha(await after.downloadBuffer(id)), id).toBe(sha(data));
        // New uploads after the restart land in free space only.
        const more = new Map<string, Buffer>();
        await Promise.all(
          Array.from({ length: 8 }, async (_, w) => {
            for (let i = 0; i < 20; i++) {
              const data = randomBytes(50 + ((w * 31 + i * 977) % 10_000));
              more.set(await after.upload(data, { ext: 'x' }), data);
            }
          }),
        );
        for (const [id, data] of [...answered, ...more])
          expect(sha(await after.downloadBuffer(id)), id).toBe(sha(data));
      } finally {
        await after.close();
      }

      // The state a restart loads: no free block overlaps a file the binlog names and whose header is there.
      await storage.stop();
      const binlog = new TrunkBinlog(join(base, 'data', 'trunk', 'binlog'), false);
      await binlog.open();
      const { space } = await loadFreeSpace(join(base, 'data', 'storage_trunk.dat'), binlog, {
        slotMinSize: 256,
        storePathCount: 1,
        reloadFromBinlog: false,
      });
      await binlog.close();
      const free = space.all().map((b) => b.slot);
      const live = await binlogLive(base);
      for (const id of answered.keys()) expect(live.has(remoteOf(id)), id).toBe(true);
      const trunkFiles = new Map<string, Buffer>();
      let checked = 0;
      for (const name of live) {
        const loc = locate(name);
        if (!loc) continue;
        const path = trunkFilePath(base, loc.slot);
        if (!trunkFiles.has(path)) trunkFiles.set(path, await readFile(path));
        if (!headerMatches(trunkFiles.get(path) as Buffer, loc.header, loc.slot.offset)) continue;
        checked++;
        for (const f of free)
          expect(overlaps(f, loc.slot), `${name} inside free ${JSON.stringify(f)}`).toBe(false);
      }
      expect(checked).toBeGreaterThanOrEqual(answered.size);
    },
    180_000,
  );
});
