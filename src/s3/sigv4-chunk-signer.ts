import { EMPTY_SHA256, hmac, sameSignature } from './sigv4-crypto.js';
import type { ChunkSigner } from './sigv4-types.js';

/**
 * The chain of aws-chunked signatures: each chunk's string-to-sign names the previous signature
 * (the request's own signature seeds it), so chunks can be neither reordered, dropped nor replaced.
 */
export class ChainedChunkSigner implements ChunkSigner {
  readonly #key: Buffer;
  readonly #prefix: string;
  #previous: string;

  constructor(key: Buffer, amzDate: string, scope: string, seedSignature: string) {
    this.#key = key;
    this.#prefix = `${amzDate}\n${scope}\n`;
    this.#previous = seedSignature;
  }

  expectedChunk(sha256Hex: string): string {
    const toSign = `AWS4-HMAC-SHA256-PAYLOAD\n${this.#prefix}${this.#previous}\n${EMPTY_SHA256}\n${sha256Hex}`;
    return hmac(this.#key, toSign).toString('hex');
  }

  verifyChunk(sha256Hex: string, signature: string): boolean {
    const expected = this.expectedChunk(sha256Hex);
    if (!sameSignature(expected, signature)) return false;
    this.#previous = expected;
    return true;
  }

  verifyTrailer(sha256Hex: string, signature: string): boolean {
    const toSign = `AWS4-HMAC-SHA256-TRAILER\n${this.#prefix}${this.#previous}\n${sha256Hex}`;
    return sameSignature(hmac(this.#key, toSign).toString('hex'), signature);
  }
}
