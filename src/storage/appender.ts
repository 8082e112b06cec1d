/** Appender-file operations (fact sheet §4.7): append, modify, truncate, regenerate name. */
import { createReadStream } from 'node:fs';
import { link, open, rename, truncate as truncateFile, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc32, FdfsError, Status } from '../common/index.js';
import { decodeRemoteFilename, regenerateName } from '../fileid/index.js';
import { BinlogOp } from './binlog.js';
import { syncDir, writeAt } from './durable.js';
import type { StorageEngine } from './engine.js';
import { META_SUFFIX } from './metadata-file.js';
import { subdirsOf } from './store-paths.js';

function requireAppender(engine: StorageEngine, remote: string): void {
  if (decodeRemoteFilename(remote).type !== 'appender') {
    throw new FdfsError(Status.EINVAL, `${engine.fileId(remote)} is not an appender file`, {
      fileId: engine.fileId(remote),
    });
  }
}

export async function appendFile(
  engine: StorageEngine,
  remote: string,
  body: Readable,
  size: number,
): Promise<void> {
  requireAppender(engine, remote);
  await engine.locks.run(remote, async () => {
    const { path } = await engine.existing(remote);
    const start = await writeAt(path, body, size, undefined, engine.deps.config.durableWrites);
    await engine.deps.binlog.append(BinlogOp.APPEND, remote, `${start} ${size}`);
  });
}

export async function modifyFile(
  engine: StorageEngine,
  remote: string,
  offset: number,
  body: Readable,
  size: number,
): Promise<void> {
  requireAppender(engine, remote);
  await engine.locks.run(remote, async () => {
    const f = await engine.existing(remote);
    if (offset > f.size) {
      throw new FdfsError(
        Status.EINVAL,
        `modify offset ${offset} is past the end (${f.size}) of ${engine.fileId(remote)}`,
      );
    }
    await writeAt(f.path, body, size, offset, engine.deps.config.durableWrites);
    await engine.deps.binlog.append(BinlogOp.MODIFY, remote, `${offset} ${size}`);
  });
}

export async function truncateAppender(
  engine: StorageEngine,
  remote: string,
  newSize: number,
): Promise<void> {
  requireAppender(engine, remote);
  await engine.locks.run(remote, async () => {
    const f = await engine.existing(remote);
    if (newSize === f.size) return;
    await truncateFile(f.path, newSize);
    if (engine.deps.config.durableWrites) {
      const fh = await open(f.path, 'r+');
      await fh.sync().finally(() => fh.close());
    }
    await engine.deps.binlog.append(BinlogOp.TRUNCATE, remote, `${f.size} ${newSize}`);
  });
}

export async function crcOfFile(path: string): Promise<number> {
  const crc = new Crc32();
  await pipeline(createReadStream(path), async (chunks: AsyncIterable<Buffer>) => {
    for await (const c of chunks) crc.update(c);
  });
  return crc.value;
}

/** Renames an appender to a normal name carrying its real size and CRC (cmd 38). */
export async function regenerateAppender(engine: StorageEngine, remote: string): Promise<string> {
  requireAppender(engine, remote);
  return engine.locks.run(remote, async () => {
    const f = await engine.existing(remote);
    const crc = await crcOfFile(f.path);
    const paths = engine.deps.paths;
    for (let attempt = 0; ; attempt++) {
      const next = regenerateName(remote, {
        timestamp: Math.floor(Date.now() / 1000),
        size: f.size,
        crc32: crc,
      });
      const nextPath = paths.resolve(next);
      try {
        await link(f.path, nextPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 10) continue;
        throw err;
      }
      await unlink(f.path);
      await rename(f.path + META_SUFFIX, nextPath + META_SUFFIX).catch(() => {});
      if (engine.deps.config.durableWrites)
        await syncDir(paths.dirOf(decodeRemoteFilename(next).storePathIndex, ...subdirsOf(next)));
      await engine.deps.binlog.append(BinlogOp.RENAME, next, remote);
      return next;
    }
  });
}
