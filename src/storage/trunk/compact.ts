/**
 * The trunk binlog's compression (trunk_compress_binlog_*, FastDFS' storage_trunk_compress): the
 * binlog becomes the free list as A records, followed by what comes after, and every peer's copy
 * is made again from it. Crash-safe by its order: the peers' marks go first (each peer then gets
 * the whole binlog again, whichever is in place), then storage_trunk.dat (a load then replays the
 * binlog in place from its start, the old one or the new, and gets the same list), then the new
 * binlog replaces the old in one rename, and a new storage_trunk.dat is saved on it.
 */
import { unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDir } from '../../common/index.js';
import type { TrunkBinlog } from './binlog.js';
import type { TrunkServer } from './server.js';
import { removeMarks } from './sync.js';

export interface CompactDeps {
  readonly binlog: TrunkBinlog;
  readonly server: TrunkServer;
  /** Where the peers' `.mark` files are (data/trunk). */
  readonly markDir: string;
  /** storage_trunk.dat. */
  readonly dataPath: string;
  readonly durable: boolean;
}

async function removeIfThere(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Compresses the binlog; the caller has stopped the pushers and starts them again after (from
 * offset 0: they first empty each peer's copy). Bytes before and after.
 */
export async function compactTrunkBinlog(d: CompactDeps): Promise<{ before: number; after: number }> {
  const before = d.binlog.size;
  await removeMarks(d.markDir, d.durable);
  await removeIfThere(d.dataPath);
  if (d.durable) await syncDir(dirname(d.dataPath));
  await d.binlog.compact(() => d.server.snapshotText());
  await d.server.save();
  return { before, after: d.binlog.size };
}
