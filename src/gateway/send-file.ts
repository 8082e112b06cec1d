/**
 * Bodies from a local file straight from the page cache to the socket (src/native), as nginx
 * sends files: the stream path reads each 64 KB into a new buffer and copies it again into the
 * socket. The file GETs and the S3 endpoint send their files this way.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sendFile, sendFileTo } from '../native/index.js';
import type { SendableFile } from './file-get.js';

/**
 * Bodies from a local file at least this long go out by sendfile when the addon is built: below
 * it, one pread and one write cost less than the addon's pool round trip and descriptor copies.
 */
const SENDFILE_MIN = 64 * 1024;
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
async function sendFileBody(res: ServerResponse, file: SendableFile, length: number): Promise<boolean> {
  const socket = res.socket;
  if (!socket) return false;
  res.flushHeaders(); // queued on the socket: sendFileOn starts after it
  if (!(await sendFileOn(socket, file, length))) return false;
  res.end();
  return true;
}

/**
 * A file answer's body: by sendfile (`viaFile`) when it has a local descriptor, the addon is
 * built and it is at least SENDFILE_MIN long; else, or when the socket cannot, by `viaStream`.
 * The descriptor is released once (true only when sendfile sent it all), and then the stream is
 * never read nor destroyed (it would close the descriptor again); a failed stream is destroyed.
 * Rejects with what stopped it.
 */
export async function sendBody(
  body: Readable,
  file: SendableFile | undefined,
  length: number,
  viaFile: (file: SendableFile, length: number) => Promise<boolean>,
  viaStream: (body: Readable) => Promise<void>,
): Promise<void> {
  if (file && sendFile && length >= SENDFILE_MIN) {
    let sent: boolean;
    try {
      sent = await viaFile(file, length);
    } catch (err) {
      file.release(false);
      throw err;
    }
    if (sent) {
      file.release(true);
      return;
    }
  }
  try {
    await viaStream(body);
  } catch (err) {
    body.destroy();
    throw err;
  }
}

/** sendBody onto a node:http response (after writeHead); it ends the response. */
export function sendResponseBody(
  res: ServerResponse,
  body: Readable,
  file: SendableFile | undefined,
  length: number,
): Promise<void> {
  return sendBody(
    body,
    file,
    length,
    (f, n) => sendFileBody(res, f, n),
    (b) => pipeline(b, res),
  );
}
