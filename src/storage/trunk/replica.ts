/**
 * Trunk-packed files between the storages of a group (storage_sync.c / storage_service.c): a
 * peer's create lands in this storage's copy of the same trunk file at the same slot (the trunk
 * server hands out space for the whole group, so every storage's trunk files share one layout),
 * bytes first and header last; a peer's delete zeroes the slot here (the source gives the space
 * back to the trunk server, once). Idempotent, as every apply: a slot already holding the file
 * counts as created, one without it as deleted.
 */
import { FdfsError, Status } from '../../common/index.js';
import { type BodyChunks, drainBody } from '../body.js';
import type { StorageEngine } from '../engine.js';
import { preadFd, pwritevFd } from '../fd-io.js';
import { headerMatches, packHeader, TRUNK_HEADER_SIZE, type TrunkLocation } from './slot.js';
import type { Trunks } from './store.js';

async function holdsFile(fd: number, loc: TrunkLocation): Promise<boolean> {
  const head = Buffer.alloc(TRUNK_HEADER_SIZE);
  const n = await preadFd(fd, head, 0, TRUNK_HEADER_SIZE, loc.slot.offset);
  return n === TRUNK_HEADER_SIZE && headerMatches(head, loc.header);
}

/** 16 / 18 for a trunk-packed file: 'already' when the slot holds it, else written. */
export async function applyTrunkCreate(
  engine: StorageEngine,
  trunks: Trunks,
  name: string,
  loc: TrunkLocation,
  body: BodyChunks,
  size: number,
): Promise<'applied' | 'already'> {
  if (size !== loc.header.fileSize) {
    await drainBody(body);
    throw new FdfsError(
      Status.EINVAL,
      `sync of ${engine.fileId(name)}: ${size} bytes, its name says ${loc.header.fileSize}`,
    );
  }
  const path = trunks.fileOf(loc.slot);
  // The trunk file may be new here: it is made at least as large as the slot needs.
  const fileSize = Math.max(
    trunks.params.useTrunkFile ? trunks.params.trunkFileSize : 0,
    loc.slot.offset + loc.slot.size,
  );
  const fd = await trunks.files.acquire(path, fileSize);
  try {
    return await engine.locks.run(name, async () => {
      if (await holdsFile(fd, loc)) {
        await drainBody(body);
        return 'already';
      }
      let at = loc.slot.offset + TRUNK_HEADER_SIZE;
      let got = 0;
      for await (const chunk of body) {
        got += chunk.length;
        if (got > size) break;
        await pwritevFd(fd, [chunk], at);
        at += chunk.length;
      }
      if (got !== size)
        throw new FdfsError(Status.EINVAL, `sync of ${engine.fileId(name)}: got ${got} of ${size} bytes`);
      await pwritevFd(fd, [packHeader(loc.header)], loc.slot.offset);
      await trunks.files.sync(path);
      return 'applied';
    });
  } finally {
    trunks.files.release(path);
  }
}

/** 17 for a trunk-packed file: zero the slot while it still holds the file. */
export async function applyTrunkDelete(
  engine: StorageEngine,
  trunks: Trunks,
  name: string,
  loc: TrunkLocation,
): Promise<'applied' | 'already'> {
  return engine.locks.run(name, async () => {
    const there = await engine.existing(name).then(
      () => true,
      () => false,
    );
    if (!there) return 'already';
    await trunks.zero(loc.slot);
    return 'applied';
  });
}
