/**
 * Delete (12), the engine's verb that removes: slaves the master's metadata records (image
 * variants, fdfs.slave* names) go first, each logged like any delete so replicas drop them too;
 * a crash midway leaves the master and its record, and the next delete finishes the job.
 */
import { stat, unlink } from 'node:fs/promises';
import { FdfsError, Status } from '../common/index.js';
import { recordedSlaves } from '../fileid/index.js';
import { unpackMetadata } from '../protocol/index.js';
import { BinlogOp } from './binlog.js';
import type { StorageEngine } from './engine.js';
import { META_SUFFIX, readMetadataRaw } from './metadata-file.js';

export async function deleteWithSlaves(engine: StorageEngine, remote: string): Promise<void> {
  for (const slave of await recordedSlavesOf(engine, remote)) {
    await deleteOne(engine, slave).catch((err: unknown) => {
      if (!(err instanceof FdfsError && err.status === Status.ENOENT)) throw err;
    });
  }
  await deleteOne(engine, remote);
}

async function recordedSlavesOf(engine: StorageEngine, remote: string): Promise<string[]> {
  const { path } = await engine.existing(remote);
  const raw = await readMetadataRaw(path);
  return raw ? recordedSlaves(remote, unpackMetadata(raw)) : [];
}

async function deleteOne(engine: StorageEngine, remote: string): Promise<void> {
  const { binlog, trunk } = engine.deps;
  await engine.locks.run(remote, async () => {
    const { path, trunk: slot } = await engine.existing(remote);
    const hasMeta = await stat(path + META_SUFFIX).then(
      () => true,
      () => false,
    );
    // Logged before the unlinks: a crash in between leaves records that start carries out
    // (recover.ts), never a file gone here that its peers keep.
    await Promise.all([
      binlog.append(BinlogOp.DELETE, remote),
      hasMeta ? binlog.append(BinlogOp.DELETE, remote + META_SUFFIX) : undefined,
    ]);
    if (slot) await trunk?.release(remote, slot);
    else await unlink(path);
    if (hasMeta) await unlink(path + META_SUFFIX).catch(() => {});
  });
}
