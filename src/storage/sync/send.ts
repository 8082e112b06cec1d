/**
 * Pushing one binlog record to a peer (§7.2). Content is read from the file as it is now and
 * streamed, never buffered whole. A record whose file has since gone is skipped: the later
 * delete or rename record carries the change. When a positioned change cannot apply on the peer
 * (ENOENT: file missing or shorter there), the whole file is sent instead, as FastDFS does; one a
 * FastDFS peer refuses with EEXIST (it holds a newer version) is done, as its own sender takes it.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
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
import { CHUNK_BYTES, closeFdLater, openFd, preadFd, sizeOfFd } from '../fd-io.js';
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
const CHUNK = 256 * 1024;

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

function readRange(fh: FileHandle, start: number, length: number): Readable {
  return Readable.from(
    (async function* () {
      let pos = start;
      let left = length;
      while (left > 0) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0)
          throw new FdfsError(Status.EAGAIN, `file shrank while being sent (at ${pos}); sending it again`, {
            detail: CHANGED_WHILE_SENDING,
          });
        pos += bytesRead;
        left -= bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    })(),
    { objectMode: false },
  );
}

/** What `opening` opens, or undefined when the file is not there (ENOENT). */
async function ifThere<T>(opening: Promise<T>): Promise<T | undefined> {
  try {
    return await opening;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const openIfThere = (path: string): Promise<FileHandle | undefined> => ifThere(open(path, 'r'));
const openFdIfThere = (path: string): Promise<number | undefined> => ifThere(openFd(path, 'r'));

/** Files up to this size are read whole and sent in one write (bounded: the window's width of them). */
const SMALL_FILE = CHUNK_BYTES;

/**
 * A small file's bytes, read whole, and the fd closed; undefined (fd closed too) for a larger
 * one. A profile of a peer absorbing 4 KB files put a third of the pusher's CPU in the
 * FileHandle open/stat/read/close round trips and the Readable each record built; this is open,
 * fstat, one pread and a close that is not waited for.
 */
async function readSmall(fd: number): Promise<Buffer | undefined> {
  try {
    const size = await sizeOfFd(fd);
    if (size > SMALL_FILE) return undefined;
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = await preadFd(fd, buf, got, size - got, got);
      if (n === 0)
        throw new FdfsError(Status.EAGAIN, `file shrank while being read (at ${got}); sending it again`, {
          detail: CHANGED_WHILE_SENDING,
        });
      got += n;
    }
    return buf;
  } finally {
    closeFdLater(fd);
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
      const fh = size === undefined ? undefined : await openIfThere(trunk.trunkPath(loc));
      if (!fh || size === undefined) return SKIPPED;
      try {
        const status = await call(this.conn, cmd, encodeSyncFile(this.group, name, size, ts), {
          size,
          stream: readRange(fh, loc.slot.offset + TRUNK_HEADER_SIZE, size),
        });
        if (status !== 0 && status !== Status.EEXIST) fail(this.engine, cmd, name, status);
        return { sent: true, bytes: size };
      } finally {
        await fh.close();
      }
    }
    // The record is logged before the file is linked (or the sidecar replaced) under this lock:
    // waiting for it tells "not there yet" from "gone since".
    const fd = await this.engine.locks.run(name, () => openFdIfThere(t.path));
    if (fd === undefined) {
      if (t.meta) this.skipped.add(name);
      return SKIPPED;
    }
    const small = await readSmall(fd);
    if (small) {
      const status = await call(
        this.conn,
        cmd,
        Buffer.concat([encodeSyncFile(this.group, name, small.length, ts), small]),
      );
      if (status !== 0 && status !== Status.EEXIST) fail(this.engine, cmd, name, status);
      return { sent: true, bytes: small.length };
    }
    return this.streamWhole(cmd, name, ts, t.path);
  }

  /** A file past SMALL_FILE: streamed from a file handle in 256 KB reads. */
  private async streamWhole(cmd: number, name: string, ts: number, path: string): Promise<SendResult> {
    const fh = await openIfThere(path);
    if (!fh) return SKIPPED;
    try {
      const size = (await fh.stat()).size;
      const status = await call(this.conn, cmd, encodeSyncFile(this.group, name, size, ts), {
        size,
        stream: readRange(fh, 0, size),
      });
      if (status !== 0 && status !== Status.EEXIST) fail(this.engine, cmd, name, status);
      return { sent: true, bytes: size };
    } finally {
      await fh.close();
    }
  }

  /** 25 / 35: the bytes now at [offset, offset+length); the whole file if that is not possible. */
  private async writeAt(cmd: number, name: string, offset: number, length: number, ts: number) {
    const t = syncTarget(this.engine, name);
    const fh = await openIfThere(t.path);
    if (!fh) {
      this.skipped.add(name);
      return SKIPPED;
    }
    let status: number;
    try {
      if ((await fh.stat()).size < offset + length) status = Status.ENOENT;
      else {
        const fixed = encodeSyncRange(this.group, name, offset, length, ts);
        status = await call(this.conn, cmd, fixed, { size: length, stream: readRange(fh, offset, length) });
      }
    } finally {
      await fh.close();
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
