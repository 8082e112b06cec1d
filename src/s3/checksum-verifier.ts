import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  type Checksummer,
  checksumFromHeaders,
  contentMd5,
  createChecksum,
  type ExpectedChecksum,
  mismatchError,
  trailerAlgorithm,
} from './checksum.js';
import { s3Error } from './errors.js';
import type { PayloadMode } from './sigv4-types.js';

export interface BodyVerifierOptions {
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** From verifyRequest; a 'sha256' payload is hashed and compared. */
  readonly payload: PayloadMode;
}

/**
 * Passes a (decoded) body through unchanged while computing its MD5 (the ETag) and whatever the
 * request promised: a signed sha256, Content-MD5, an x-amz-checksum-* header. The comparison is
 * made when the body ends, so a mismatch errors the stream before it ends downstream: the consumer
 * must treat an errored body as not stored (delete what it wrote).
 *
 * Header problems (a malformed Content-MD5, two checksum headers) throw from the constructor,
 * before a byte is read.
 */
export class BodyVerifier extends Transform {
  readonly #md5 = createHash('md5');
  readonly #sha256: Hash | undefined;
  readonly #expectedSha256: string | undefined;
  readonly #expectedMd5: Buffer | undefined;
  readonly #expected: ExpectedChecksum | undefined;
  readonly #checksum: Checksummer | undefined;
  readonly #algorithm: ChecksumAlgorithm | undefined;
  #md5Hex: string | undefined;
  #checksumValue: string | undefined;
  #bytes = 0;

  constructor(opts: BodyVerifierOptions) {
    super();
    this.#expectedMd5 = contentMd5(opts.headers);
    this.#expected = checksumFromHeaders(opts.headers);
    if (opts.payload.kind === 'sha256') {
      this.#expectedSha256 = opts.payload.sha256;
      this.#sha256 = createHash('sha256');
    }
    // Without a header value, x-amz-sdk-checksum-algorithm still asks for the checksum to be
    // computed and kept; a declared trailer is the chunk decoder's to check.
    const sdk = opts.headers['x-amz-sdk-checksum-algorithm']?.toUpperCase();
    const trailer = trailerAlgorithm(opts.headers);
    this.#algorithm =
      this.#expected?.algorithm ??
      (trailer === undefined && sdk !== undefined ? (sdk as ChecksumAlgorithm) : undefined);
    if (this.#algorithm !== undefined) {
      if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(this.#algorithm)) {
        throw s3Error('InvalidRequest', `checksum algorithm "${String(sdk).slice(0, 32)}" is not supported`);
      }
      this.#checksum = createChecksum(this.#algorithm);
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    this.#md5.update(chunk);
    this.#sha256?.update(chunk);
    this.#checksum?.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const md5 = this.#md5.digest();
    this.#md5Hex = md5.toString('hex');
    if (this.#sha256 && this.#sha256.digest('hex') !== this.#expectedSha256) {
      done(
        s3Error(
          'XAmzContentSHA256Mismatch',
          'the provided x-amz-content-sha256 header does not match what was computed',
        ),
      );
      return;
    }
    if (this.#expectedMd5 && !this.#expectedMd5.equals(md5)) {
      done(s3Error('BadDigest', 'the Content-MD5 you specified did not match what we received'));
      return;
    }
    if (this.#checksum && this.#algorithm) {
      this.#checksumValue = this.#checksum.digestBase64();
      if (this.#expected && this.#expected.value !== this.#checksumValue) {
        done(mismatchError(this.#algorithm));
        return;
      }
    }
    done();
  }

  /** Hex MD5 of the body; set once the body has ended. */
  get md5Hex(): string {
    if (this.#md5Hex === undefined) throw new Error('BodyVerifier.md5Hex read before the body ended');
    return this.#md5Hex;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The checksum computed (and verified when one was sent), for the object record. */
  get checksum(): ExpectedChecksum | undefined {
    return this.#algorithm && this.#checksumValue
      ? { algorithm: this.#algorithm, value: this.#checksumValue }
      : undefined;
  }
}

export function bodyVerifier(opts: BodyVerifierOptions): BodyVerifier {
  return new BodyVerifier(opts);
}
