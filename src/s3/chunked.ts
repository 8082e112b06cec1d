import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import {
  type ChecksumAlgorithm,
  type Checksummer,
  checksumHeaderName,
  createChecksum,
  type ExpectedChecksum,
  isChecksumValue,
  mismatchError,
  trailerAlgorithm,
} from './checksum.js';
import { s3Error } from './errors.js';
import { EMPTY_SHA256, sha256Hex } from './sigv4-crypto.js';
import type { ChunkSigner, PayloadMode } from './sigv4-types.js';

/**
 * A signed chunk is held until its signature checks, so it is the one thing buffered: 16 MiB caps
 * that memory per request (SDKs send 64 KiB to 8 MiB chunks). Unsigned chunks stream through.
 */
export const MAX_SIGNED_CHUNK = 16 * 1024 * 1024;
const MAX_HEX_DIGITS = 8; // ≤ 0xffffffff: 4 GiB, well below 2^53, before the length checks apply
const MAX_HEADER_LINE = 256; // "ffffffff;chunk-signature=<64 hex>" is 89 bytes
const MAX_TRAILER_BYTES = 4096;

type Headers = Readonly<Record<string, string | undefined>>;

/** x-amz-decoded-content-length, the body's size once the framing is gone (required by S3). */
export function decodedContentLength(headers: Headers): number {
  const value = headers['x-amz-decoded-content-length'];
  if (value === undefined)
    throw s3Error('MissingContentLength', 'aws-chunked uploads need x-amz-decoded-content-length');
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw s3Error('InvalidArgument', 'x-amz-decoded-content-length is not a valid length');
  }
  return Number(value);
}

/** Content-Encoding to store: the request's, without the aws-chunked transfer framing. */
export function storedContentEncoding(headers: Headers): string | undefined {
  const kept = (headers['content-encoding'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked');
  return kept.length === 0 ? undefined : kept.join(',');
}

export interface AwsChunkedOptions {
  /** Largest chunk a signed stream may declare (default MAX_SIGNED_CHUNK). */
  readonly maxSignedChunk?: number;
}

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

/**
 * Decodes aws-chunked framing: `hex[;chunk-signature=sig]\r\n data \r\n … 0…\r\n [trailers] \r\n`.
 * Signed streams: each chunk's signature is checked before any of its bytes are passed on, so a
 * forged chunk is never stored. Trailer checksum and trailer signature are checked, and the decoded
 * length compared with x-amz-decoded-content-length, before the stream ends. Framing never leaves.
 */
export class AwsChunkedDecoder extends Transform {
  readonly #signer: ChunkSigner | undefined;
  readonly #signedTrailer: boolean;
  readonly #declared: number;
  readonly #maxChunk: number;
  readonly #trailerAlgorithm: ChecksumAlgorithm | undefined;
  readonly #sum: Checksummer | undefined;
  #state: State = 'size';
  #line = '';
  #decoded = 0;
  #remaining = 0;
  #crlf = 0;
  #chunkSignature = '';
  #chunkHash: Hash | undefined;
  #held: Buffer[] = [];
  #trailerBytes = 0;
  #trailerLines = 0;
  readonly #trailers = new Map<string, string>();
  #trailerSignature: string | undefined;
  #checksum: ExpectedChecksum | undefined;

  constructor(mode: PayloadMode, headers: Headers, opts: AwsChunkedOptions = {}) {
    super();
    if (mode.kind === 'streaming-signed') {
      this.#signer = mode.chunks;
      this.#signedTrailer = mode.trailer;
    } else if (mode.kind === 'streaming-unsigned-trailer') {
      this.#signedTrailer = false;
    } else {
      throw s3Error(
        'InvalidArgument',
        `an aws-chunked body needs a STREAMING-* x-amz-content-sha256, not ${mode.kind}`,
      );
    }
    this.#declared = decodedContentLength(headers);
    this.#maxChunk = opts.maxSignedChunk ?? MAX_SIGNED_CHUNK;
    this.#trailerAlgorithm = trailerAlgorithm(headers);
    if (this.#trailerAlgorithm !== undefined && mode.kind === 'streaming-signed' && !mode.trailer) {
      throw s3Error('InvalidRequest', 'x-amz-trailer needs a -TRAILER x-amz-content-sha256');
    }
    this.#sum = this.#trailerAlgorithm ? createChecksum(this.#trailerAlgorithm) : undefined;
  }

  /** The trailer checksum, verified against the decoded bytes; set once the stream has ended. */
  get checksum(): ExpectedChecksum | undefined {
    return this.#checksum;
  }

  get decodedBytes(): number {
    return this.#decoded;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.#consume(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      // "0\r\n" then the end: what the AWS SDK sends when it has no trailer to add.
      const bareEnd = this.#state === 'trailer' && this.#line === '' && this.#trailerLines === 0;
      if (bareEnd && this.#trailerAlgorithm === undefined && !this.#signedTrailer) this.#state = 'done';
      if (this.#state !== 'done')
        throw s3Error('IncompleteBody', 'the aws-chunked body ended before its final chunk');
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  #consume(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.#state) {
        case 'size':
        case 'trailer': {
          const line = this.#readLine(buf, pos);
          if (line === undefined) return;
          pos = line.next;
          if (this.#state === 'size') this.#onSizeLine(line.text);
          else this.#onTrailerLine(line.text);
          break;
        }
        case 'data': {
          const n = Math.min(this.#remaining, buf.length - pos);
          this.#onData(buf.subarray(pos, pos + n));
          pos += n;
          break;
        }
        case 'data-crlf': {
          const byte = buf[pos++];
          if (byte !== (this.#crlf === 0 ? 0x0d : 0x0a)) throw framing('chunk data is not followed by CRLF');
          if (++this.#crlf === 2) this.#state = 'size';
          break;
        }
        case 'done':
          throw framing('data after the end of the aws-chunked body');
      }
    }
  }

  /** Collects one CRLF-terminated line across input buffers, under a cap. */
  #readLine(buf: Buffer, pos: number): { text: string; next: number } | undefined {
    const cap = this.#state === 'size' ? MAX_HEADER_LINE : MAX_TRAILER_BYTES - this.#trailerBytes;
    const nl = buf.indexOf(0x0a, pos);
    const end = nl < 0 ? buf.length : nl;
    if (this.#line.length + (end - pos) > cap) {
      throw framing(this.#state === 'size' ? 'chunk header line too long' : 'trailer too long');
    }
    this.#line += buf.toString('latin1', pos, end);
    if (nl < 0) return undefined;
    const text = this.#line;
    this.#line = '';
    if (!text.endsWith('\r')) throw framing('line not terminated by CRLF');
    if (this.#state === 'trailer') this.#trailerBytes += text.length + 1;
    return { text: text.slice(0, -1), next: nl + 1 };
  }

  #onSizeLine(text: string): void {
    const m = this.#signer
      ? /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})$/.exec(text)
      : /^([0-9a-fA-F]{1,16})$/.exec(text);
    if (!m) throw framing(`malformed chunk header "${text.slice(0, 100)}"`);
    const hex = (m[1] as string).replace(/^0+(?=.)/, '');
    if (hex.length > MAX_HEX_DIGITS) throw framing('chunk size out of range');
    const size = Number.parseInt(hex, 16);
    if (this.#decoded + size > this.#declared) {
      throw s3Error('IncompleteBody', 'the chunks carry more bytes than x-amz-decoded-content-length');
    }
    if (this.#signer) {
      if (size > this.#maxChunk) {
        throw s3Error(
          'InvalidArgument',
          `a signed chunk of ${size} bytes exceeds the ${this.#maxChunk}-byte limit`,
        );
      }
      this.#chunkSignature = m[2] as string;
    }
    if (size === 0) {
      if (this.#signer && !this.#signer.verifyChunk(EMPTY_SHA256, this.#chunkSignature))
        throw badChunkSignature();
      if (this.#decoded !== this.#declared) {
        throw s3Error('IncompleteBody', 'the chunks carry fewer bytes than x-amz-decoded-content-length');
      }
      this.#state = 'trailer';
      return;
    }
    this.#remaining = size;
    this.#chunkHash = this.#signer ? createHash('sha256') : undefined;
    this.#state = 'data';
  }

  #onData(slice: Buffer): void {
    this.#remaining -= slice.length;
    this.#decoded += slice.length;
    if (this.#chunkHash) {
      this.#chunkHash.update(slice);
      this.#held.push(slice);
    } else {
      this.#sum?.update(slice);
      this.push(slice);
    }
    if (this.#remaining > 0) return;
    if (this.#chunkHash && this.#signer) {
      const digest = this.#chunkHash.digest('hex');
      this.#chunkHash = undefined;
      const held = this.#held;
      this.#held = [];
      if (!this.#signer.verifyChunk(digest, this.#chunkSignature)) throw badChunkSignature();
      for (const part of held) {
        this.#sum?.update(part);
        this.push(part);
      }
    }
    this.#crlf = 0;
    this.#state = 'data-crlf';
  }

  #onTrailerLine(text: string): void {
    if (text === '') {
      this.#finishTrailers();
      this.#state = 'done';
      return;
    }
    this.#trailerLines++;
    if (this.#trailerSignature !== undefined)
      throw framing('x-amz-trailer-signature must be the last trailer');
    const colon = text.indexOf(':');
    if (colon <= 0) throw framing('malformed trailer line');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      if (!this.#signedTrailer) throw framing('a trailer signature in an unsigned stream');
      this.#trailerSignature = value;
      return;
    }
    if (this.#trailerAlgorithm === undefined || name !== checksumHeaderName(this.#trailerAlgorithm)) {
      throw s3Error('InvalidRequest', `trailer "${name.slice(0, 64)}" was not declared in x-amz-trailer`);
    }
    if (this.#trailers.has(name)) throw framing(`trailer ${name} repeated`);
    this.#trailers.set(name, value);
  }

  #finishTrailers(): void {
    if (this.#signedTrailer && this.#signer) {
      if (this.#trailerSignature === undefined)
        throw s3Error('SignatureDoesNotMatch', 'the trailer signature is missing');
      const block = [...this.#trailers]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([n, v]) => `${n}:${v}\n`)
        .join('');
      if (!this.#signer.verifyTrailer(sha256Hex(block), this.#trailerSignature)) {
        throw s3Error('SignatureDoesNotMatch', 'the trailer signature does not match');
      }
    }
    if (this.#trailerAlgorithm && this.#sum) {
      const value = this.#trailers.get(checksumHeaderName(this.#trailerAlgorithm));
      if (value === undefined)
        throw s3Error(
          'InvalidRequest',
          `the declared trailer ${checksumHeaderName(this.#trailerAlgorithm)} is missing`,
        );
      if (!isChecksumValue(this.#trailerAlgorithm, value)) {
        throw s3Error(
          'InvalidRequest',
          `value for ${checksumHeaderName(this.#trailerAlgorithm)} trailing header is invalid`,
        );
      }
      const actual = this.#sum.digestBase64();
      if (actual !== value) throw mismatchError(this.#trailerAlgorithm);
      this.#checksum = { algorithm: this.#trailerAlgorithm, value };
    }
  }
}

function framing(message: string) {
  return s3Error('IncompleteBody', `aws-chunked: ${message}`);
}

function badChunkSignature() {
  return s3Error('SignatureDoesNotMatch', 'a chunk signature does not match; the chunk was not stored');
}

export function awsChunkedDecoder(
  mode: PayloadMode,
  headers: Headers,
  opts?: AwsChunkedOptions,
): AwsChunkedDecoder {
  return new AwsChunkedDecoder(mode, headers, opts);
}
