/**
 * Request bodies as Node streams, and what to do with the rest when a request fails early.
 * Destroying the stream over the socket would reset the connection before the 4xx is written
 * (curl and fetch then report a broken pipe, not the 413), so upload code works on a detached
 * copy and the remainder is read and dropped, up to a cap, after which the connection goes.
 */
import { PassThrough, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** Past this much unread body after a failure, the connection is closed instead of drained. */
export const DISCARD_CAP = 16 * 1024 * 1024;

export interface Body {
  /** The bytes, detached: destroying this does not touch the connection. */
  readonly stream: PassThrough;
  /** Stop feeding `stream` and drop whatever the client still sends. */
  abandon(): void;
}

/** A web request body (hono), converted to a Node stream. */
export function requestBody(web: ReadableStream<Uint8Array> | null): Body {
  return nodeBody(web ? Readable.fromWeb(web as WebReadableStream<Uint8Array>) : Readable.from([]));
}

/** A Node request body (an IncomingMessage on the raw path): destroying it closes the connection. */
export function nodeBody(source: Readable): Body {
  const stream = new PassThrough();
  // The consumer's pipeline sees the error while it reads; this listener covers the moments
  // when nothing does (before the store opens its temp file, after a failed request), where a
  // hang-up would otherwise be an unhandled 'error' event that takes the whole process down.
  stream.on('error', () => {});
  source.pipe(stream);
  source.on('error', (err) => stream.destroy(err));
  let abandoned = false;
  return {
    stream,
    abandon() {
      if (abandoned || source.readableEnded) return;
      abandoned = true;
      source.unpipe(stream);
      let dropped = 0;
      source.on('data', (c: Buffer) => {
        dropped += c.length;
        if (dropped > DISCARD_CAP) source.destroy();
      });
      source.resume();
    },
  };
}
