/**
 * Download (14) of a file packed in a trunk file: its bytes are `fileSize` bytes 24 past the
 * slot's offset, behind a header that must match the name (else the slot was freed or reused:
 * ENOENT, as FastDFS answers). A read from the start fetches header and content in one pread;
 * bigger files go out in 256 KB chunks with the socket's backpressure honoured.
 */

import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { FdfsError, Status } from '../../common/index.js';
import { Cmd, drained, encodeHeader } from '../../protocol/index.js';
import type { DiskReader, DownloadRange } from '../download.js';
import { CHUNK_BYTES, closeFdLater, giveChunk, openFd, preadFd, takeChunk } from '../fd-io.js';
import { headerMatches, TRUNK_HEADER_SIZE, type TrunkLocation, trunkFileName, unpackHeader } from './slot.js';

/** The trunk file a location points at, beside where the name's own file would be. */
export function trunkPathOf(
  disk: Pick<DiskReader, 'resolvePath'>,
  remote: string,
  loc: TrunkLocation,
): string {
  return join(dirname(disk.resolvePath(remote)), trunkFileName(loc.slot.id));
}

function gone(disk: DiskReader, remote: string, cause?: unknown): FdfsError {
  const fileId = disk.fileId(remote);
  return new FdfsError(Status.ENOENT, `file ${fileId} not found`, { fileId, ...(cause ? { cause } : {}) });
}

async function openTrunk(disk: DiskReader, remote: string, loc: TrunkLocation): Promise<number> {
  try {
    return await openFd(trunkPathOf(disk, remote, loc), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw gone(disk, remote, err);
    throw err;
  }
}

/** Reads exactly `len` bytes at `pos`, or fails: a trunk file is never shorter than its slots. */
async function readFull(
  fd: number,
  buf: Buffer,
  len: number,
  pos: number,
  what: () => string,
): Promise<void> {
  let got = 0;
  while (got < len) {
    const n = await preadFd(fd, buf, got, len - got, pos + got);
    if (n === 0) throw new FdfsError(Status.EIO, `${what()}: trunk file ends inside the slot`);
    got += n;
  }
}

/**
 * Sends the reply for a download of a trunk-packed file; throws before anything is written when
 * the file is gone or the range is bad. `keep` sees the whole content when one read held it
 * (the read cache's fill) and may return its own copy to send. Returns the body bytes sent.
 */
export async function sendTrunkDownload(
  disk: DiskReader,
  socket: Socket,
  q: DownloadRange,
  loc: TrunkLocation,
  keep: (whole: Buffer) => Buffer | undefined,
): Promise<number> {
  const size = loc.header.fileSize;
  if (q.offset > size)
    throw new FdfsError(
      Status.EINVAL,
      `download offset ${q.offset} is past the end (${size}) of ${disk.fileId(q.remote)}`,
    );
  const total = q.length === 0 ? size - q.offset : Math.min(q.length, size - q.offset);
  const what = () => disk.fileId(q.remote);
  const fd = await openTrunk(disk, q.remote, loc);
  let buf: Buffer | undefined = takeChunk();
  let headerSent = false;
  try {
    const base = loc.slot.offset + TRUNK_HEADER_SIZE;
    // From the start, the header and the first chunk are one read; else the header alone first.
    const first = Math.min(total, CHUNK_BYTES - TRUNK_HEADER_SIZE);
    const together = q.offset === 0;
    await readFull(fd, buf, TRUNK_HEADER_SIZE + (together ? first : 0), loc.slot.offset, what);
    if (!headerMatches(buf, loc.header)) throw gone(disk, q.remote);
    let body: Buffer;
    if (together) body = buf.subarray(TRUNK_HEADER_SIZE, TRUNK_HEADER_SIZE + first);
    else {
      await readFull(fd, buf, first, base + q.offset, what);
      body = buf.subarray(0, first);
    }
    const copy = together && first === size ? keep(body) : undefined;
    const head = encodeHeader(total, Cmd.RESP, 0);
    headerSent = true;
    if (socket.destroyed) throw new FdfsError(Status.ECONNRESET, 'connection closed while sending');
    socket.cork();
    socket.write(head);
    let more: boolean;
    if (copy) more = socket.write(copy);
    else {
      const chunk: Buffer = buf;
      buf = undefined; // the write callback gives it back
      more = socket.write(body, () => giveChunk(chunk));
    }
    socket.uncork();
    let pos = base + q.offset + first;
    let left = total - first;
    while (left > 0) {
      if (!more) await drained(socket);
      const b = takeChunk();
      const len = Math.min(CHUNK_BYTES, left);
      try {
        await readFull(fd, b, len, pos, what);
      } catch (err) {
        giveChunk(b);
        throw err;
      }
      pos += len;
      left -= len;
      if (socket.destroyed) {
        giveChunk(b);
        throw new FdfsError(Status.ECONNRESET, 'connection closed while sending');
      }
      more = socket.write(b.subarray(0, len), () => giveChunk(b));
    }
    // A client that sends requests without reading the answers must not pile them up here.
    if (!more) await drained(socket);
    return total;
  } catch (err) {
    if (headerSent) socket.destroy();
    throw err;
  } finally {
    if (buf) giveChunk(buf);
    closeFdLater(fd);
  }
}

/** What a stat of a trunk-packed file finds: its size and time, or ENOENT. */
export async function statTrunk(
  disk: Pick<DiskReader, 'resolvePath' | 'fileId'>,
  remote: string,
  loc: TrunkLocation,
): Promise<{ trunkPath: string; size: number; mtimeSec: number }> {
  const trunkPath = trunkPathOf(disk, remote, loc);
  const d = disk as DiskReader;
  const fd = await openTrunk(d, remote, loc);
  try {
    const head = Buffer.alloc(TRUNK_HEADER_SIZE);
    await readFull(fd, head, TRUNK_HEADER_SIZE, loc.slot.offset, () => disk.fileId(remote));
    if (!headerMatches(head, loc.header)) throw gone(d, remote);
    const h = unpackHeader(head);
    return { trunkPath, size: h.fileSize, mtimeSec: h.mtime };
  } finally {
    closeFdLater(fd);
  }
}
