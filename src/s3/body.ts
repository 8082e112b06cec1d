/**
 * A request body as the operations see it: decoded (aws-chunked framing removed), verified while
 * it streams (payload hash, Content-MD5, checksums: a mismatch fails the stream before it ends,
 * so nothing is committed), with its MD5 for the ETag. The stream is detached from the socket:
 * failing it does not reset the connection, so the client still reads its S3 error.
 */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
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
  /** Stop reading the request and drop what the client still sends (after an early failure). */
  abandon(): void;
}

function lengthHeader(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value)) throw s3Error('InvalidArgument', `${name} must be a non-negative integer.`);
  return Number(value);
}

/** Hashes what passes through; checks the payload sha256 and Content-MD5 before letting the end through. */
class Digests extends Transform {
  private readonly md5 = createHash('md5');
  private readonly sha: Hash | undefined;
  private hex = '';
  private length = 0;

  constructor(
    private readonly sha256: string | undefined,
    private readonly contentMd5: Buffer | undefined,
    private readonly expected: number | undefined,
  ) {
    super();
    this.sha = sha256 === undefined ? undefined : createHash('sha256');
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.md5.update(chunk);
    this.sha?.update(chunk);
    this.length += chunk.length;
    if (this.expected !== undefined && this.length > this.expected) {
      cb(s3Error('IncompleteBody', 'The body is longer than its stated length.'));
      return;
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.expected !== undefined && this.length !== this.expected) {
      cb(s3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.'));
      return;
    }
    const md5 = this.md5.digest();
    this.hex = md5.toString('hex');
    if (this.sha && this.sha.digest('hex') !== this.sha256) {
      cb(s3Error('XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.'));
      return;
    }
    if (this.contentMd5 && !md5.equals(this.contentMd5)) {
      cb(s3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.'));
      return;
    }
    cb();
  }

  get md5Hex(): string {
    return this.hex;
  }
}

/** The Content-MD5 header as 16 bytes; anything else is InvalidDigest. */
export function contentMd5Of(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const bytes = /^[A-Za-z0-9+/]{22}==$/.test(value) ? Buffer.from(value, 'base64') : undefined;
  if (bytes?.length !== 16) throw s3Error('InvalidDigest', 'The Content-MD5 you specified is not valid.');
  return bytes;
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

export function requestBody(req: IncomingMessage, payload: PayloadMode): RequestBody {
  const h = req.headers;
  const streaming = payload.kind === 'streaming-signed' || payload.kind === 'streaming-unsigned-trailer';
  if (streaming) throw s3Error('NotImplemented', 'aws-chunked bodies are not accepted yet.');
  const size = lengthHeader(h['content-length'], 'Content-Length');
  const digests = new Digests(
    payload.kind === 'sha256' ? payload.sha256 : undefined,
    contentMd5Of(h['content-md5']),
    size,
  );
  const stream = new PassThrough();
  // Nobody may be reading yet when the client hangs up: without this the error would be unhandled.
  stream.on('error', () => {});
  req.pipe(digests).pipe(stream);
  req.on('error', (err) => stream.destroy(err));
  digests.on('error', (err) => stream.destroy(err));
  let abandoned = false;
  return {
    stream,
    size,
    md5Hex: () => digests.md5Hex,
    abandon() {
      if (abandoned || req.readableEnded) return;
      abandoned = true;
      req.unpipe(digests);
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
