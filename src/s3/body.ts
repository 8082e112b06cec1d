/**
 * A request body as the operations see it: decoded (aws-chunked framing removed), verified while
 * it streams (payload hash, Content-MD5, checksums: a mismatch fails the stream before it ends,
 * so nothing is committed), with its MD5 for the ETag. The stream is detached from the socket:
 * failing it does not reset the connection, so the client still reads its S3 error.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { ExpectedChecksum } from './checksum.js';
import { bodyVerifier } from './checksum-verifier.js';
import { awsChunkedDecoder, decodedContentLength } from './chunked.js';
import { s3Error } from './errors.js';
import type { PayloadMode } from './sigv4.js';

/** Past this much unread body after a failure, the connection is closed instead of drained. */
const DISCARD_CAP = 16 * 1024 * 1024;

export interface RequestBody {
  readonly stream: Readable;
  /** The decoded length when the request states it (Content-Length or x-amz-decoded-content-length). */
  readonly size: number | undefined;
  /** Hex MD5 of the decoded bytes; valid once `stream` has ended. */
  md5Hex(): string;
  /** The checksum sent (header or trailer) or asked for, verified; valid once `stream` has ended. */
  checksum(): ExpectedChecksum | undefined;
  /** Stop reading the request and drop what the client still sends (after an early failure). */
  abandon(): void;
}

function lengthHeader(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value))
    throw s3Error('InvalidArgument', 'Content-Length must be a non-negative integer.');
  return Number(value);
}

/** Reads and drops the rest of a request body, up to a cap past which the connection goes. */
export function discard(req: IncomingMessage): void {
  if (req.readableEnded) return;
  let dropped = 0;
  req.on('data', (c: Buffer) => {
    dropped += c.length;
    if (dropped > DISCARD_CAP) req.destroy();
  });
  req.resume();
}

export function requestBody(
  req: IncomingMessage,
  headers: Readonly<Record<string, string | undefined>>,
  payload: PayloadMode,
): RequestBody {
  const streaming = payload.kind === 'streaming-signed' || payload.kind === 'streaming-unsigned-trailer';
  // Header problems (a bad Content-MD5, two checksums, no decoded length) fail before a byte is read.
  const decoder = streaming ? awsChunkedDecoder(payload, headers) : undefined;
  const size = streaming ? decodedContentLength(headers) : lengthHeader(headers['content-length']);
  const verifier = bodyVerifier({ headers, payload });
  // The verifier is the body the operations read: piped to (not in a pipeline with) the request,
  // so failing it leaves the socket alone. No stage after it: each one costs a hop per chunk.
  const stream = verifier;
  // Nobody may be reading yet when the client hangs up: without this the error would be unhandled.
  stream.on('error', () => {});
  const first = decoder ?? verifier;
  if (decoder) {
    decoder.pipe(verifier);
    decoder.on('error', (err) => verifier.destroy(err));
  }
  req.pipe(first);
  req.on('error', (err) => verifier.destroy(err));
  let abandoned = false;
  return {
    stream,
    size,
    md5Hex: () => verifier.md5Hex,
    checksum: () => verifier.checksum ?? decoder?.checksum,
    abandon() {
      if (abandoned) return;
      abandoned = true;
      req.unpipe(first);
      discard(req);
    },
  };
}

/** The whole body of a control request (XML), refused past `max` bytes. */
export async function readSmall(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > max) throw s3Error('MaxMessageLengthExceeded', 'Your request was too big.');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks, size);
}
