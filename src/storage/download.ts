/**
 * Download (14) onto the connection. A profile of 4 KB downloads showed open, fstat, read and
 * close as four thread-pool round trips through FileHandle objects, and a 100 KB one building a
 * read stream per request. Here the first read comes straight after open, into a reused 256 KB
 * buffer: a short read is the end of the file, so a file smaller than the buffer costs open +
 * one pread (+ a close that is not waited for) and goes out with its header in one writev. Only
 * a file at least that big needs fstat for its length; its later chunks are read ahead while
 * the previous one is written, with the socket's backpressure honoured. A file whose name says
 * it is bigger than the buffer skips the first read when the kernel sends it (sendfile).
 */
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { FdfsError, Status } from '../common/index.js';
import { sizeHintOf, TRUNK_NAME_LEN, validateRemoteFilename } from '../fileid/index.js';
import { sendFile, sendFileTo } from '../native/index.js';
import {
  Cmd,
  drained,
  encodeHeader,
  type FastHandler,
  GROUP_NAME_LEN,
  HEADER_SIZE,
} from '../protocol/index.js';
import type { StorageCounters } from './counters.js';
import {
  CHUNK_BYTES,
  closeFdLater,
  giveChunk,
  openFd,
  preadFd,
  sizeOfFd,
  takeBigChunk,
  takeChunk,
} from './fd-io.js';
import type { ReadCache } from './read-cache.js';
import { isTrunkName, locate, sendTrunkDownload } from './trunk/index.js';

/** What a download needs of a storage: the engine, or a storage worker process's view of the disk. */
export interface DiskReader {
  readonly cache: ReadCache;
  fileId(remote: string): string;
  /** Absolute path of a validated remote filename. */
  resolvePath(remote: string): string;
  /** Whether an operation that may change `remote` is queued or running here. */
  busy(remote: string): boolean;
}

export interface DownloadRange {
  readonly remote: string;
  readonly offset: number;
  /** 0 = to the end of the file. */
  readonly length: number;
}

const { errno } = constants;
const einval = (msg: string) => new FdfsError(Status.EINVAL, msg);

function connectionGone(): FdfsError {
  return new FdfsError(Status.ECONNRESET, 'connection closed while sending');
}

async function openStored(disk: DiskReader, remote: string): Promise<number> {
  validateRemoteFilename(remote);
  try {
    return await openFd(disk.resolvePath(remote), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const fileId = disk.fileId(remote);
      throw new FdfsError(Status.ENOENT, `file ${fileId} not found`, { fileId, cause: err });
    }
    throw err;
  }
}

async function readAt(disk: DiskReader, remote: string, fd: number, buf: Buffer, len: number, pos: number) {
  try {
    return await preadFd(fd, buf, 0, len, pos);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR')
      throw new FdfsError(Status.EISDIR, `${disk.fileId(remote)} is not a regular file`);
    throw err;
  }
}

/** The range `q` asks of a file of `size` bytes: EINVAL past the end, a long length clamped. */
function rangeOf(disk: DiskReader, q: DownloadRange, size: number): number {
  if (q.offset > size)
    throw einval(`download offset ${q.offset} is past the end (${size}) of ${disk.fileId(q.remote)}`);
  return q.length === 0 ? size - q.offset : Math.min(q.length, size - q.offset);
}

function sendWhole(socket: Socket, head: Buffer, body: Buffer, done?: () => void): boolean {
  socket.cork();
  socket.write(head);
  const more = socket.write(body, done);
  socket.uncork();
  return more;
}

/**
 * Sends the reply (header and bytes) for a download, or throws before anything was written.
 * A failure after the header destroys the socket: the peer cannot be answered in step any more.
 * Returns the number of body bytes sent.
 */
export async function sendDownload(disk: DiskReader, socket: Socket, q: DownloadRange): Promise<number> {
  const cache = disk.cache;
  const cached = cache.enabled ? cache.get(q.remote) : undefined;
  if (cached) {
    const len = rangeOf(disk, q, cached.length);
    if (socket.destroyed) throw connectionGone();
    const more = sendWhole(socket, encodeHeader(len, Cmd.RESP, 0), cached.subarray(q.offset, q.offset + len));
    // A client that sends requests without reading the answers must not pile them up here.
    if (!more) await drained(socket);
    return len;
  }
  // Only a read from the start can see the whole file; see ReadCache for why a busy name is skipped.
  const fills = cache.enabled && q.offset === 0 && !disk.busy(q.remote);
  if (fills) cache.beginFill(q.remote);
  let whole: Buffer | undefined;
  let reply: Buffer | undefined;
  try {
    return await sendFromDisk(disk, socket, q, (data) => {
      if (fills && cache.fits(data.length)) {
        reply = framed(data);
        whole = reply.subarray(HEADER_SIZE);
      }
      return whole;
    });
  } finally {
    if (fills) cache.fill(q.remote, whole, reply);
  }
}

/** A copy of a whole file behind its download reply's header, kept so a hit is one write. */
function framed(data: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(HEADER_SIZE + data.length);
  encodeHeader(data.length, Cmd.RESP, 0).copy(out, 0);
  data.copy(out, HEADER_SIZE);
  return out;
}

/**
 * The download of a whole cached file, answered synchronously from the request's bytes (see
 * FastHandler): one lookup and one write. Anything else (a range, a miss, a request that would
 * fail) returns undefined untouched, and sendDownload answers it. Returns the bytes sent.
 */
export function sendCachedWhole(
  disk: DiskReader,
  group: string,
  body: Buffer,
  socket: Socket,
): number | undefined {
  // offset 0, length 0 (the whole file), group[16], then the name (fact sheet §4, cmd 14)
  if (body.length < 16 + GROUP_NAME_LEN + 22 || !disk.cache.enabled) return undefined;
  for (let i = 0; i < 16; i++) if (body[i] !== 0) return undefined;
  if (!groupIs(body, 16, group)) return undefined;
  const remote = body.toString('latin1', 16 + GROUP_NAME_LEN);
  const reply = disk.cache.reply(remote);
  if (reply === undefined) return undefined;
  socket.write(reply);
  return reply.length - HEADER_SIZE;
}

/** Whether the NUL-padded group field at `at` names `group` (ASCII, as group names are). */
function groupIs(body: Buffer, at: number, group: string): boolean {
  const n = group.length;
  for (let i = 0; i < n; i++) if (body[at + i] !== group.charCodeAt(i)) return false;
  return n === GROUP_NAME_LEN || body[at + n] === 0;
}

/** `keep(bytes)` sees a whole file read in one go and may return its own copy to send instead. */
async function sendFromDisk(
  disk: DiskReader,
  socket: Socket,
  q: DownloadRange,
  keep: (whole: Buffer) => Buffer | undefined,
): Promise<number> {
  // A 60-char name with the trunk bit lives inside a trunk file (FastDFS' use_trunk_file).
  const trunk = q.remote.length === TRUNK_NAME_LEN && isTrunkName(q.remote) ? locate(q.remote) : undefined;
  if (trunk) return sendTrunkDownload(disk, socket, q, trunk, keep);
  const fd = await openStored(disk, q.remote);
  let buf: Buffer | undefined;
  let headerSent = false;
  try {
    // A file its name says is large (and the kernel can send): no first read through a buffer.
    if (sendFile && (sizeHintOf(q.remote) ?? 0) > CHUNK_BYTES && (q.length === 0 || q.length > CHUNK_BYTES)) {
      const total = rangeOf(disk, q, await sizeOfFd(fd));
      if (total > CHUNK_BYTES) {
        headerSent = true;
        if (socket.destroyed) throw connectionGone();
        const more = socket.write(encodeHeader(total, Cmd.RESP, 0));
        const rest = { from: q.offset, length: total };
        if (!(await sentByKernel(disk, socket, fd, q.remote, rest)))
          await sendRest(disk, socket, fd, q.remote, rest.from, rest.length, more);
        return total;
      }
    }
    buf = takeChunk();
    const want = q.length === 0 ? CHUNK_BYTES : Math.min(q.length, CHUNK_BYTES);
    const n = await readAt(disk, q.remote, fd, buf, want, q.offset);
    let total: number;
    let copy: Buffer | undefined;
    if (n === want && (q.length === 0 || q.length > CHUNK_BYTES)) {
      // The buffer filled: only the file's length tells how much follows.
      total = Math.max(rangeOf(disk, q, await sizeOfFd(fd)), n);
    } else if (n === 0 && q.offset > 0) {
      // Between FastDFS' two behaviours: an offset past the end is EINVAL, at the end a 0-byte body.
      total = rangeOf(disk, q, await sizeOfFd(fd));
    } else {
      total = n; // the whole range, or a length past the end clamped at it
      if (q.offset === 0 && n < want) copy = keep(buf.subarray(0, n)); // the whole file
    }
    const first = Math.min(n, total);
    const head = encodeHeader(total, Cmd.RESP, 0);
    headerSent = true;
    if (socket.destroyed) throw connectionGone();
    let more: boolean;
    if (copy) more = sendWhole(socket, head, copy);
    else {
      const chunk: Buffer = buf;
      buf = undefined; // from here the write callback gives it back
      more = sendWhole(socket, head, chunk.subarray(0, first), () => giveChunk(chunk));
    }
    if (first < total) {
      const rest = { from: q.offset + first, length: total - first };
      if (!(await sentByKernel(disk, socket, fd, q.remote, rest)))
        await sendRest(disk, socket, fd, q.remote, rest.from, rest.length, more);
    } else if (!more) await drained(socket); // see the cached case above
    return total;
  } catch (err) {
    if (headerSent) socket.destroy();
    throw err;
  } finally {
    if (buf) giveChunk(buf);
    closeFdLater(fd);
  }
}

/**
 * The rest of a large download by sendfile(2) when the native addon is built: the kernel sends
 * from the page cache, where pread + write copy each byte twice through user space (a profile of
 * 4 MB downloads: 40 % of the storage's CPU in those copies; see src/native). A client that takes
 * nothing for network_timeout is dropped. False: not possible here, nothing sent.
 */
async function sentByKernel(
  disk: DiskReader,
  socket: Socket,
  fd: number,
  remote: string,
  rest: { from: number; length: number },
): Promise<boolean> {
  if (socket.destroyed) throw connectionGone();
  const idle = socket.timeout ?? 0;
  const stall = idle > 0 ? idle : DEFAULT_STALL_MS;
  const r = await sendFileTo(socket, fd, rest.from, rest.length, stall);
  if (!r) return false;
  if (r.errno === errno.EIO)
    throw new FdfsError(
      Status.EIO,
      `file ${disk.fileId(remote)} ended early or failed to read while being sent`,
    );
  if (r.errno === errno.ETIMEDOUT)
    throw new FdfsError(Status.ETIMEDOUT, `client took nothing for ${stall} ms of ${disk.fileId(remote)}`);
  if (r.errno !== 0 || socket.destroyed) throw connectionGone();
  return true;
}

/** A stalled client's limit when the socket has no idle timeout of its own (FastDFS' network_timeout). */
const DEFAULT_STALL_MS = 60_000;

/** The chunks after the first: the next read runs while the previous chunk is being written. */
async function sendRest(
  disk: DiskReader,
  socket: Socket,
  fd: number,
  remote: string,
  from: number,
  length: number,
  flowing: boolean,
): Promise<void> {
  let pos = from;
  let left = length;
  const readNext = async (): Promise<{ b: Buffer; n: number }> => {
    const b = left > CHUNK_BYTES ? takeBigChunk() : takeChunk();
    const len = Math.min(b.length, left);
    const at = pos;
    pos += len;
    left -= len;
    try {
      const n = await readAt(disk, remote, fd, b, len, at);
      if (n < len) throw new FdfsError(Status.EIO, `file ${disk.fileId(remote)} shrank while being sent`);
      return { b, n };
    } catch (err) {
      giveChunk(b);
      throw err;
    }
  };
  let next = readNext();
  // A read still running when the send fails must finish before the fd closes.
  const settle = () => next.then((c) => giveChunk(c.b)).catch(() => {});
  let ok = flowing;
  for (;;) {
    if (!ok) {
      try {
        await drained(socket);
      } catch (err) {
        await settle();
        throw err;
      }
    }
    const { b, n } = await next;
    const last = left === 0;
    if (!last) next = readNext();
    if (socket.destroyed) {
      giveChunk(b);
      if (!last) await settle();
      throw connectionGone();
    }
    ok = socket.write(b.subarray(0, n), () => giveChunk(b));
    if (last) {
      if (!ok) await drained(socket);
      return;
    }
  }
}

/** Largest request body offered to the fast path (a download's is at most 16 + 16 + 128). */
export const FAST_MAX_BODY = 256;

/**
 * The requests a storage answers synchronously as they arrive (see FastHandler): downloads of
 * whole cached files. Counted as the PacketHandler would count them.
 */
export function storageFastPath(disk: DiskReader, group: string, counters: StorageCounters): FastHandler {
  return (h, body, socket) => {
    if (h.cmd !== Cmd.DOWNLOAD_FILE) return false;
    const sent = sendCachedWhole(disk, group, body, socket);
    if (sent === undefined) return false;
    counters.values.totalDownloadCount++;
    counters.values.successDownloadCount++;
    counters.bytes('Download', sent);
    return true;
  };
}
