/**
 * Bodies from a local file straight from the page cache to the socket (src/native), as nginx
 * sends files: the stream path reads each 64 KB into a new buffer and copies it again into the
 * socket. The file GETs and the S3 endpoint send their files this way.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { sendFileTo } from '../native/index.js';
import type { SendableFile } from './file-get.js';

/**
 * Bodies from a local file at least this long go out by sendfile when the addon is built: below
 * it, one pread and one write cost less than the addon's pool round trip and descriptor copies.
 */
export const SENDFILE_MIN = 64 * 1024;
/** A client that takes no bytes for this long is dropped mid-body (nginx's send_timeout). */
export const SEND_STALL_MS = 60_000;

/**
 * `length` bytes of `file` after whatever is queued on `socket`. False: this socket cannot
 * (TLS, no descriptor); nothing of the body was written. Throws when it stopped part way.
 */
export async function sendFileOn(socket: Socket, file: SendableFile, length: number): Promise<boolean> {
  const r = await sendFileTo(socket, file.fd, file.offset, length, SEND_STALL_MS);
  if (!r) return false;
  if (r.errno !== 0) {
    const err = new Error(`sendfile stopped after ${r.sent} of ${length} bytes`) as NodeJS.ErrnoException;
    err.errno = r.errno;
    // As a client gone mid-body on the stream path: routine, not logged.
    err.code = r.errno === constants.errno.EIO ? 'EIO' : 'ERR_STREAM_PREMATURE_CLOSE';
    throw err;
  }
  return true;
}

/**
 * The body of `res` by sendfile. Call after writeHead; it ends the response. False: this socket
 * cannot; nothing of the body was written.
 */
export async function sendFileBody(
  res: ServerResponse,
  file: SendableFile,
  length: number,
): Promise<boolean> {
  const socket = res.socket;
  if (!socket) return false;
  res.flushHeaders(); // queued on the socket: sendFileOn starts after it
  if (!(await sendFileOn(socket, file, length))) return false;
  res.end();
  return true;
}
