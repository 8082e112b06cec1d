/**
 * Applying a peer's change here (the replica side of §7.2). Every apply is idempotent, because a
 * sender resends whatever it had not seen acknowledged when a link broke: an existing file counts
 * as created, a missing one as deleted, a write at an offset is the same write again. Content
 * lands as uploads do (temp file, fsync, link or rename, directory fsync), and the change is
 * logged in lower case with the source's timestamp, so it is never pushed on again (no loops).
 */
import { link, open, rename, truncate, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { FdfsError, Status } from '../../common/index.js';
import { splitRemoteFilename } from '../../fileid/index.js';
import { type BodyChunks, drainBody } from '../body.js';
import { commitNew, commitReplace, syncDir, syncDirGrouped, writeAt, writeTemp } from '../durable.js';
import type { StorageEngine } from '../engine.js';
import { META_SUFFIX } from '../metadata-file.js';
import { applyTrunkCreate, applyTrunkDelete } from '../trunk/index.js';

/** A name from a sync request, checked and resolved. */
export interface SyncTarget {
  /** As in the binlog: the remote filename, or that + `-m`. */
  readonly name: string;
  readonly remote: string;
  readonly meta: boolean;
  readonly path: string;
  readonly dir: string;
  readonly pathIndex: number;
}

export type ApplyResult = 'applied' | 'already' | 'stale';

/** Validates like every other name that reaches the disk (EINVAL otherwise). */
export function syncTarget(engine: StorageEngine, name: string): SyncTarget {
  const meta = name.endsWith(META_SUFFIX);
  const remote = meta ? name.slice(0, -META_SUFFIX.length) : name;
  const parts = splitRemoteFilename(remote);
  const { paths } = engine.deps;
  return {
    name,
    remote,
    meta,
    path: paths.resolve(remote) + (meta ? META_SUFFIX : ''),
    dir: paths.dirOf(parts.storePathIndex, parts.subdirHigh, parts.subdirLow),
    pathIndex: parts.storePathIndex,
  };
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function noent(engine: StorageEngine, t: SyncTarget, what: string): FdfsError {
  return new FdfsError(
    Status.ENOENT,
    `${what}: ${engine.fileId(t.remote)}${t.meta ? META_SUFFIX : ''} not found`,
    {
      fileId: engine.fileId(t.remote),
    },
  );
}

async function log(
  engine: StorageEngine,
  op: string,
  name: string,
  ts: number,
  extra?: string,
): Promise<void> {
  await engine.deps.binlog.append(op.toLowerCase(), name, extra, ts);
}

/**
 * 16 SYNC_CREATE_FILE (`replace` false) and 18 SYNC_UPDATE_FILE (true). Metadata sidecars are
 * always replaced: the binlog's order is the order of their versions.
 */
export async function applyFile(
  engine: StorageEngine,
  t: SyncTarget,
  body: BodyChunks,
  size: number,
  replace: boolean,
  ts: number,
): Promise<ApplyResult> {
  const { paths } = engine.deps;
  const durable = engine.deps.config.durableWrites;
  const tombstones = engine.deps.binlog.tombstones;
  const names = t.meta ? [t.name, t.remote] : [t.name];
  if (tombstones.stale(names, ts)) {
    // Deleted here after the sender made this change: a replay, not news. Taken and dropped.
    await drainBody(body);
    return 'stale';
  }
  const trunk = t.meta ? undefined : engine.deps.trunk?.locate(t.name);
  if (trunk && engine.deps.trunk) {
    // A trunk-packed file lands in this storage's copy of its trunk file, at its slot.
    const done = await applyTrunkCreate(engine, engine.deps.trunk, t.name, trunk, body, size);
    await log(engine, replace ? 'u' : 'c', t.name, ts);
    return done;
  }
  const tmp = await writeTemp(paths.tmpDir(t.pathIndex), body, size, durable);
  let result = 'applied' as ApplyResult;
  // The commit takes the temp name away (rename, or link then unlink); any other way out drops it.
  // Unlinking it again every time cost a failed system call and an error object per replica.
  let taken = false;
  try {
    await paths.ensureDir(t.dir);
    await engine.locks.run(t.name, async () => {
      // Checked again under the lock: a delete may have landed while the content streamed in.
      if (tombstones.stale(names, ts)) {
        result = 'stale';
        return;
      }
      // The directory is synced below, beside the log line's sync.
      if (replace || t.meta) {
        await commitReplace(tmp.path, t.path, false);
        taken = true;
        return;
      }
      try {
        await commitNew(tmp.path, t.path, false);
        taken = true;
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
        result = 'already';
      }
    });
  } finally {
    if (!taken) await unlink(tmp.path).catch(() => {});
  }
  if (result === 'stale') return result;
  // Logged even when already present: a crash may have come between the link and the log line.
  // The directory's fsync and the log line's run at once; the answer waits for both. A crash
  // between them at worst leaves a line whose file is not there (pushers skip such a record,
  // and the sender, unanswered, sends the file again) or a file without its line (the resend
  // logs it). Done one after the other, the two fsyncs made each replica wait for the disk
  // twice, and a peer taking uploads fell seconds behind at 500 uploads/s.
  await Promise.all([
    durable ? syncDirGrouped(dirname(t.path)) : undefined,
    log(engine, replace ? 'u' : 'c', t.name, ts),
  ]);
  return result;
}

/** 17 SYNC_DELETE_FILE. */
export async function applyDelete(engine: StorageEngine, t: SyncTarget, ts: number): Promise<ApplyResult> {
  const trunk = t.meta ? undefined : engine.deps.trunk?.locate(t.name);
  if (trunk && engine.deps.trunk) {
    const done = await applyTrunkDelete(engine, engine.deps.trunk, t.name, trunk);
    await log(engine, 'd', t.name, ts);
    return done;
  }
  const result = await engine.locks.run(t.name, async (): Promise<ApplyResult> => {
    try {
      await unlink(t.path);
      return 'applied';
    } catch (err) {
      if (code(err) === 'ENOENT') return 'already';
      throw err;
    }
  });
  await log(engine, 'd', t.name, ts);
  return result;
}

/**
 * Whether a write at `offset` can apply: the file exists and already holds every byte before
 * the offset. Checked before the content is read, so a refusal (ENOENT, upon which the sender
 * sends the whole file) leaves the connection in step.
 */
export async function canWriteAt(engine: StorageEngine, t: SyncTarget, offset: number): Promise<boolean> {
  try {
    return (await engine.existing(t.remote)).size >= offset;
  } catch {
    return false;
  }
}

/** 25 SYNC_APPEND_FILE / 35 SYNC_MODIFY_FILE: a positioned write, the same bytes when repeated. */
export async function applyWriteAt(
  engine: StorageEngine,
  t: SyncTarget,
  op: 'a' | 'm',
  offset: number,
  body: Readable,
  size: number,
  ts: number,
): Promise<void> {
  const durable = engine.deps.config.durableWrites;
  await engine.locks.run(t.name, async () => {
    await writeAt(t.path, body, size, offset, durable);
  });
  await log(engine, op, t.name, ts, `${offset} ${size}`);
}

/** 37 SYNC_TRUNCATE_FILE. */
export async function applyTruncate(
  engine: StorageEngine,
  t: SyncTarget,
  oldSize: number,
  newSize: number,
  ts: number,
): Promise<void> {
  await engine.locks.run(t.name, async () => {
    try {
      await truncate(t.path, newSize);
    } catch (err) {
      if (code(err) === 'ENOENT') throw noent(engine, t, 'sync truncate');
      throw err;
    }
    if (engine.deps.config.durableWrites) {
      const fh = await open(t.path, 'r+');
      await fh.sync().finally(() => fh.close());
    }
  });
  await log(engine, 't', t.name, ts, `${oldSize} ${newSize}`);
}

/**
 * 40 SYNC_RENAME_FILE (appender → regenerated name, with its sidecar) and 19 SYNC_CREATE_LINK
 * (`keepSource`: a second name for the same content). ENOENT when neither name exists here.
 */
export async function applyRename(
  engine: StorageEngine,
  dest: SyncTarget,
  src: SyncTarget,
  ts: number,
  keepSource = false,
): Promise<ApplyResult> {
  if (dest.meta || src.meta)
    throw new FdfsError(Status.EINVAL, `sync rename of a metadata sidecar ${dest.name}`);
  const result = await engine.locks.run(src.name, async (): Promise<ApplyResult> => {
    await engine.deps.paths.ensureDir(dest.dir);
    let result: ApplyResult = 'applied';
    try {
      await link(src.path, dest.path);
    } catch (err) {
      if (code(err) === 'EEXIST') result = 'already';
      else if (code(err) === 'ENOENT') {
        const there = await engine.existing(dest.remote).then(
          () => true,
          () => false,
        );
        if (!there) throw noent(engine, src, 'sync rename');
        result = 'already';
      } else throw err;
    }
    if (!keepSource) {
      await unlink(src.path).catch(() => {});
      await rename(src.path + META_SUFFIX, dest.path + META_SUFFIX).catch(() => {});
    }
    if (engine.deps.config.durableWrites) await syncDir(dest.dir);
    return result;
  });
  await log(engine, keepSource ? 'l' : 'r', dest.name, ts, src.name);
  return result;
}
