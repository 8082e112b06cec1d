/**
 * Plain-fd file I/O for the hot request paths. The promise FileHandle API costs about twice the
 * CPU per operation of the callback API here (a FileHandle object, its close tracking and a few
 * promises per call, measured: 140 vs 63 µs for open+read+close), so downloads and uploads use
 * these thin wrappers over the callback calls, which still run on libuv's thread pool.
 */
import { close, fdatasync, fstat, link, open, read, unlink, write, writev } from 'node:fs';

export function openFd(path: string, flags: string | number, mode?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

/** One pread; a short count means end of file (regular files on a local disk). */
export function preadFd(
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/** Writes every byte of `bufs` at `position` (writev may write less than asked; the rest follows). */
export async function pwritevFd(fd: number, bufs: readonly Uint8Array[], position: number): Promise<void> {
  const list = bufs.slice();
  let at = position;
  while (list.length > 0) {
    const n = await new Promise<number>((resolve, reject) => {
      writev(fd, list, at, (err, written) => (err ? reject(err) : resolve(written)));
    });
    at += n;
    let skip = n;
    while (list.length > 0 && skip >= (list[0]?.length ?? 0)) skip -= list.shift()?.length ?? 0;
    if (skip > 0 && list[0]) list[0] = list[0].subarray(skip);
  }
}

/** Writes all of `data` at the end of a file opened for appending (O_APPEND: no position). */
export async function appendFd(fd: number, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    off += await new Promise<number>((resolve, reject) => {
      write(fd, data, off, data.length - off, null, (err, n) => (err ? reject(err) : resolve(n)));
    });
  }
}

export function sizeOfFd(fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fstat(fd, (err, s) => (err ? reject(err) : resolve(s.size)));
  });
}

export function datasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fdatasync(fd, (err) => (err ? reject(err) : resolve()));
  });
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    close(fd, (err) => (err ? reject(err) : resolve()));
  });
}

/** Closes without waiting (after a read-only use, where a close error changes nothing). */
export function closeFdLater(fd: number): void {
  close(fd, () => {});
}

export function linkPath(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    link(from, to, (err) => (err ? reject(err) : resolve()));
  });
}

export function unlinkPath(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    unlink(path, (err) => (err ? reject(err) : resolve()));
  });
}

/**
 * Reusable 256 KB read buffers (FastDFS' max_buff_size): a download reads into one, the socket
 * write's callback gives it back. Bounded, so an idle storage holds at most `MAX_FREE` of them.
 */
export const CHUNK_BYTES = 256 * 1024;
/**
 * Bodies up to this size are handled whole, in one buffer (a small upload, a small replica each
 * way): at most what one write gathers anyway, and no stream per request.
 */
export const WHOLE_BODY_MAX = CHUNK_BYTES;
const MAX_FREE = 16;
const free: Buffer[] = [];

export function takeChunk(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
}

/** Gives back a buffer from takeChunk or takeBigChunk. */
export function giveChunk(b: Buffer): void {
  if (b.length === BIG_CHUNK_BYTES) {
    bigOut--;
    if (freeBig.length < MAX_FREE_BIG) freeBig.push(b);
  } else if (free.length < MAX_FREE && b.length === CHUNK_BYTES) free.push(b);
}

/**
 * 1 MB read buffers for the rest of a large download, while few are out. A profile of 4 MB
 * downloads put most of the storage's CPU in per-chunk costs (a thread-pool round trip for each
 * pread, a socket write that fills the send buffer, a drain): a 1 MB chunk has a quarter of
 * them (measured 2.45-2.52 ms instead of 2.67-3.10 ms CPU per 4 MB download). At most
 * `MAX_BIG_OUT` are out at once (32 MB), so 64 concurrent large downloads still hold at most
 * 32 MB + 2 x 256 KB each; up to `MAX_FREE_BIG` stay allocated for reuse, as fresh ones cost
 * page faults on their first read (a pool of 4 measured no gain at all).
 */
export const BIG_CHUNK_BYTES = 1024 * 1024;
const MAX_BIG_OUT = 32;
const MAX_FREE_BIG = 16;
const freeBig: Buffer[] = [];
let bigOut = 0;

/** A 1 MB buffer, or a 256 KB one when MAX_BIG_OUT big ones are already out. */
export function takeBigChunk(): Buffer {
  if (bigOut >= MAX_BIG_OUT) return takeChunk();
  bigOut++;
  return freeBig.pop() ?? Buffer.allocUnsafeSlow(BIG_CHUNK_BYTES);
}
