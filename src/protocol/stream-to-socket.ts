/**
 * Streams a body into a long-lived socket that must stay open afterwards. pipeline() with
 * `{ end: false }` leaves its end-of-stream listeners on the socket, one set per request, so a
 * pooled connection collects them; this loop honours backpressure and leaves nothing behind.
 */
import type { Socket } from 'node:net';
import { FdfsError, Status } from '../common/index.js';

/** Resolves on the socket's next 'drain'; rejects if it closes or fails first. */
export function drained(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new FdfsError(Status.ECONNRESET, 'connection closed while sending'));
    const cleanup = () => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new FdfsError(Status.ECONNRESET, 'connection closed while sending'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
    socket.once('error', onError);
  });
}

export async function streamToSocket(source: AsyncIterable<Uint8Array>, socket: Socket): Promise<void> {
  for await (const chunk of source) {
    if (socket.destroyed) throw new FdfsError(Status.ECONNRESET, 'connection closed while sending');
    if (!socket.write(chunk)) await drained(socket);
  }
}
