/**
 * Pushing one binlog record to a peer (§7.2). Content is read from the file as it is now and
 * streamed, never buffered whole. A record whose file has since gone is skipped: the later
 * delete or rename record carries the change. When a positioned change cannot apply on the peer
 * (ENOENT: file missing or shorter there), the whole file is sent instead, as FastDFS does; one a
 * FastDFS peer refuses with EEXIST (it holds a newer version) is done, as its own sender takes it.
 */
import { Readable } from 'node:stream';
import { type Connection, isStatusReply } from '../../client/index.js';
import { FdfsError, isFdfsError, Status } from '../../common/index.js';
import {
  Cmd,
  cmdName,
  encodeSyncDelete,
  encodeSyncFile,
  encodeSyncPair,
  encodeSyncRange,
  encodeWatermark,
} from '../../protocol/index.js';
import type { StorageEngine } from '../engine.js';
import { CHUNK_BYTES, closeFdLater, openFd, preadFd, sizeOfFd, WHOLE_BODY_MAX } from '../fd-io.js';
import { TRUNK_HEADER_SIZE } from '../trunk/index.js';
import { syncTarget } from './apply.js';
import type { BinlogRecord } from './record.js';

export interface SendResult {
  readonly sent: boolean;
  /** Content bytes put on the wire. */
  readonly bytes: number;
}

const SKIPPED: SendResult = { sent: false, bytes: 0 };

/**
 * The file shrank while its bytes were on the wire (an appender truncated meanwhile). The peer
 * waits for the length announced, so the link is dropped and the record sent again over a new
 * one, from the file as it is then: an expected race, not a fault of either side.
 */
const CHANGED_WHILE_SENDING = 'FileChangedWhileSending';

export function changedWhileSending(err: unknown): boolean {
  return isFdfsError(err, Status.EAGAIN) && err.detail === CHANGED_WHILE_SENDING;
}
/** Sends a request and returns the peer's status byte (0 = done); transport failures throw. */
async function call(
  conn: Connection,
  cmd: number,
  fixed: Buffer,
  content?: { size: number; stream: Readable },
): Promise<number> {
  await conn.send(cmd, fixed, content);
  try {
    const h = await conn.readHeader(cmdName(cmd));
    await conn.readBody(h.length);
    return 0;
  } catch (err) {
    if (isStatusReply(err) && err instanceof FdfsError) return err.status;
    throw err;
  }
}

function shrank(at: number): FdfsError {
  return new FdfsError(Status.EAGAIN, `file shrank while being sent (at ${at}); sending it again`, {
    detail: CHANGED_WHILE_SENDING,
  });
}

/** Reads [start, start+length) of `fd` into `buf` (from its start); a short file throws shrank(). */
async function readFully(fd: number, buf: Buffer, start: number, length: number): Promise<void> {
  let got = 0;
  while (got < length) {
    const n = await preadFd(fd, buf, got, length - got, start + got);
    if (n === 0) throw shrank(start + got);
    got += n;
  }
}

function readRange(fd: number, start: number, length: number): Readable {
  return Readable.from(
    (async function* () {
      for (let pos = start, left = length; left > 0; ) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, left));
        await readFully(fd, buf, pos, buf.length);
        pos += buf.length;
        left -= buf.length;
        yield buf;
      }
    })(),
    { objectMode: false },
  );
}

/**
 * A request whose content is [start, start+size) of `fd`. Up to WHOLE_BODY_MAX it is read with
 * one pread and goes out with its header in one write: a profile of a peer absorbing 4 KB files
 * put a third of the pusher's CPU in FileHandle calls and the Readable each record built.
 * Larger content streams in 256 KB reads.
 */
async function callWithContent(
  conn: Connection,
  cmd: number,
  fixed: Buffer,
  fd: number,
  start: number,
  size: number,
): Promise<number> {
  if (size > WHOLE_BODY_MAX) return call(conn, cmd, fixed, { size, stream: readRange(fd, start, size) });
  const body = Buffer.allocUnsafe(fixed.length + size);
  fixed.copy(body);
  await readFully(fd, body.subarray(fixed.length), start, size);
  return call(conn, cmd, body);
}

/** The file opened for reading, or undefined when it is not there (ENOENT). */
async function openIfThere(path: string): Promise<number | undefined> {
  try {
    return await openFd(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function fail(engine: StorageEngine, cmd: number, name: string, status: number): never {
  throw new FdfsError(status, `${cmdName(cmd)} of ${name} refused by the peer (status ${status})`, {
    fileId: engine.fileId(name.replace(/-m$/, '')),
  });
}

/**
 * Appender files whose positioned changes (append, modify) were skipped because the file had
 * already been renamed away on this storage. The rename's record then moves a copy on the peer
 * that lacks those changes, so the renamed file is sent whole after it. Shared by the sender's
 * connections to one peer; bounded, since a skipped file may never be renamed.
 */
export class SkippedWrites {
  private readonly names = new Set<string>();
  add(name: string): void {
    if (this.names.size >= 10_000) this.names.clear();
    this.names.add(name);
  }
  /** Whether `name` had a skipped change; forgets it. */
  take(name: string): boolean {
    return this.names.delete(name);
  }
}

export class RecordSender {
  constructor(
    private readonly engine: StorageEngine,
    private readonly conn: Connection,
    private readonly skipped = new SkippedWrites(),
  ) {}

  private get group(): string {
    return this.engine.group;
  }

  /** 16 / 18 with the file's current content; skipped when the file is gone. */
  async file(cmd: typeof Cmd.SYNC_CREATE_FILE | typeof Cmd.SYNC_UPDATE_FILE, name: string, ts: number) {
    const t = syncTarget(this.engine, name);
    const trunk = t.meta ? undefined : this.engine.deps.trunk;
    const loc = trunk?.locate(name);
    if (trunk && loc) {
      // A trunk-packed file: its bytes sit 24 past its slot in the trunk file, while the header holds.
      const size = await this.engine.locks.run(name, () =>
        this.engine.existing(name).then(
          (f) => f.size,
          () => undefined,
        ),
      );
      const fd = size === undefined ? undefined : await openIfThere(trunk.trunkPath(loc));
      if (fd === undefined || size === undefined) return SKIPPED;
      return this.sendFile(cmd, name, ts, fd, loc.slot.offset + TRUNK_HEADER_SIZE, size);
    }
    // The record is logged before the file is linked (or the sidecar replaced) under this lock:
    // waiting for it tells "not there yet" from "gone since".
    const fd = await this.engine.locks.run(name, () => openIfThere(t.path));
    if (fd === undefined) {
      if (t.meta) this.skipped.add(name);
      return SKIPPED;
    }
    return this.sendFile(cmd, name, ts, fd, 0, undefined);
  }

  /** 16 / 18 with [start, start+size) of `fd` (size undefined: the whole file); closes `fd`. */
  private async sendFile(
    cmd: number,
    name: string,
    ts: number,
    fd: number,
    start: number,
    size: number | undefined,
  ): Promise<SendResult> {
    try {
      const n = size ?? (await sizeOfFd(fd));
      const fixed = encodeSyncFile(this.group, name, n, ts);
      const status = await callWithContent(this.conn, cmd, fixed, fd, start, n);
      if (status !== 0 && status !== Status.EEXIST) fail(this.engine, cmd, name, status);
      return { sent: true, bytes: n };
    } finally {
      closeFdLater(fd);
    }
  }

  /** 25 / 35: the bytes now at [offset, offset+length); the whole file if that is not possible. */
  private async writeAt(cmd: number, name: string, offset: number, length: number, ts: number) {
    const t = syncTarget(this.engine, name);
    const fd = await openIfThere(t.path);
    if (fd === undefined) {
      this.skipped.add(name);
      return SKIPPED;
    }
    let status: number;
    try {
      if ((await sizeOfFd(fd)) < offset + length) status = Status.ENOENT;
      else {
        const fixed = encodeSyncRange(this.group, name, offset, length, ts);
        status = await callWithContent(this.conn, cmd, fixed, fd, offset, length);
      }
    } finally {
      closeFdLater(fd);
    }
    // EEXIST: a FastDFS peer holds a newer version already (it took the whole file while copying
    // old data); its own sender counts that as done too.
    if (status === 0 || status === Status.EEXIST) return { sent: true, bytes: length };
    if (status === Status.ENOENT) return this.file(Cmd.SYNC_UPDATE_FILE, name, ts);
    return fail(this.engine, cmd, name, status);
  }

  async record(r: BinlogRecord): Promise<SendResult> {
    const op = r.op.toUpperCase();
    const [x = '0', y = '0'] = r.extra;
    switch (op) {
      case 'C':
      case 'L':
        // A link (dedup, slave via link) travels as the content it names: simpler, same result.
        return this.file(Cmd.SYNC_CREATE_FILE, r.name, r.ts);
      case 'U':
        return this.file(Cmd.SYNC_UPDATE_FILE, r.name, r.ts);
      case 'D': {
        const status = await call(
          this.conn,
          Cmd.SYNC_DELETE_FILE,
          encodeSyncDelete(this.group, r.name, r.ts),
        );
        if (status !== 0 && status !== Status.ENOENT) fail(this.engine, Cmd.SYNC_DELETE_FILE, r.name, status);
        return { sent: true, bytes: 0 };
      }
      case 'A':
        return this.writeAt(Cmd.SYNC_APPEND_FILE, r.name, Number(x), Number(y), r.ts);
      case 'M':
        return this.writeAt(Cmd.SYNC_MODIFY_FILE, r.name, Number(x), Number(y), r.ts);
      case 'T': {
        const fixed = encodeSyncRange(this.group, r.name, Number(x), Number(y), r.ts);
        const status = await call(this.conn, Cmd.SYNC_TRUNCATE_FILE, fixed);
        if (status === 0 || status === Status.EEXIST) return { sent: true, bytes: 0 };
        if (status === Status.ENOENT) return this.file(Cmd.SYNC_UPDATE_FILE, r.name, r.ts);
        return fail(this.engine, Cmd.SYNC_TRUNCATE_FILE, r.name, status);
      }
      case 'R': {
        // r.name is the new name, the extra field the appender's old one.
        const status = await call(
          this.conn,
          Cmd.SYNC_RENAME_FILE,
          encodeSyncPair(this.group, r.name, x, r.ts),
        );
        if (status === 0 || status === Status.EEXIST) {
          // The peer renamed a copy that missed changes made before the rename here: send the
          // file as it is now over it.
          const sidecar = this.skipped.take(`${x}-m`);
          if (sidecar) await this.file(Cmd.SYNC_UPDATE_FILE, `${r.name}-m`, r.ts);
          if (this.skipped.take(x)) return this.file(Cmd.SYNC_UPDATE_FILE, r.name, r.ts);
          return { sent: true, bytes: 0 };
        }
        this.skipped.take(x);
        this.skipped.take(`${x}-m`);
        if (status !== Status.ENOENT) fail(this.engine, Cmd.SYNC_RENAME_FILE, r.name, status);
        const whole = await this.file(Cmd.SYNC_CREATE_FILE, r.name, r.ts);
        await this.file(Cmd.SYNC_UPDATE_FILE, `${r.name}-m`, r.ts);
        return whole;
      }
      default:
        throw new FdfsError(Status.EINVAL, `binlog op ${r.op} of ${r.name} cannot be synced`);
    }
  }

  /**
   * SYNC_WATERMARK; false when the peer does not know it (a FastDFS storage answers EINVAL to a
   * command it lacks). Any other refusal (a peer just restarted that does not know this storage
   * yet answers EACCES) fails the link like a record would: it does not make the peer stock.
   */
  async watermark(ts: number): Promise<boolean> {
    const status = await call(this.conn, Cmd.SYNC_WATERMARK, encodeWatermark(ts));
    if (status === 0) return true;
    if (status === Status.EINVAL) return false;
    throw new FdfsError(status, `${cmdName(Cmd.SYNC_WATERMARK)} refused by the peer (status ${status})`);
  }
}
