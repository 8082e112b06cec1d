import { createHash, type Hash } from 'node:crypto';
import { crc32 } from '../common/index.js';
import { Crc64Nvme, crc32c } from './checksum-crc.js';
import { s3Error } from './errors.js';

/** The x-amz-checksum-* algorithms S3 knows, as they are named in x-amz-sdk-checksum-algorithm. */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

export interface Checksummer {
  update(data: Uint8Array): void;
  /** The finished value as S3 sends it: base64 of the big-endian bytes. */
  digestBase64(): string;
}

class CrcSum implements Checksummer {
  #value = 0;
  readonly #fn: (data: Uint8Array, prev: number) => number;
  constructor(fn: (data: Uint8Array, prev: number) => number) {
    this.#fn = fn;
  }
  update(data: Uint8Array): void {
    this.#value = this.#fn(data, this.#value);
  }
  digestBase64(): string {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.#value >>> 0);
    return out.toString('base64');
  }
}

class HashSum implements Checksummer {
  readonly #hash: Hash;
  constructor(name: string) {
    this.#hash = createHash(name);
  }
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  digestBase64(): string {
    return this.#hash.digest('base64');
  }
}

class Crc64Sum implements Checksummer {
  readonly #crc = new Crc64Nvme();
  update(data: Uint8Array): void {
    this.#crc.update(data);
  }
  digestBase64(): string {
    return this.#crc.digest().toString('base64');
  }
}

export function createChecksum(algorithm: ChecksumAlgorithm): Checksummer {
  switch (algorithm) {
    case 'CRC32':
      return new CrcSum(crc32);
    case 'CRC32C':
      return new CrcSum(crc32c);
    case 'CRC64NVME':
      return new Crc64Sum();
    case 'SHA1':
      return new HashSum('sha1');
    case 'SHA256':
      return new HashSum('sha256');
  }
}

export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** 'x-amz-checksum-crc32c' → 'CRC32C'; undefined for any other name. */
export function algorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const lower = name.toLowerCase();
  return CHECKSUM_ALGORITHMS.find((a) => checksumHeaderName(a) === lower);
}

export interface ExpectedChecksum {
  readonly algorithm: ChecksumAlgorithm;
  readonly value: string; // base64, as sent
}

/** A checksum value must be canonical base64 of exactly the algorithm's digest size. */
export function isChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === DIGEST_BYTES[algorithm] && bytes.toString('base64') === value;
}

export function mismatchError(algorithm: ChecksumAlgorithm) {
  return s3Error('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`);
}

/** The one x-amz-checksum-* header of a request, if any; malformed or several → InvalidRequest. */
export function checksumFromHeaders(
  headers: Readonly<Record<string, string | undefined>>,
): ExpectedChecksum | undefined {
  let found: ExpectedChecksum | undefined;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = headers[checksumHeaderName(algorithm)];
    if (value === undefined) continue;
    if (found)
      throw s3Error(
        'InvalidRequest',
        'expecting a single x-amz-checksum- header; multiple checksum types are not allowed',
      );
    if (!isChecksumValue(algorithm, value)) {
      throw s3Error('InvalidRequest', `value for ${checksumHeaderName(algorithm)} header is invalid`);
    }
    found = { algorithm, value };
  }
  const sdk = headers['x-amz-sdk-checksum-algorithm'];
  if (found && sdk !== undefined && sdk.toUpperCase() !== found.algorithm) {
    throw s3Error(
      'InvalidRequest',
      'x-amz-sdk-checksum-algorithm does not name the x-amz-checksum- header sent',
    );
  }
  return found;
}

/** The checksum a trailer will carry, from x-amz-trailer; only x-amz-checksum-* trailers exist. */
export function trailerAlgorithm(
  headers: Readonly<Record<string, string | undefined>>,
): ChecksumAlgorithm | undefined {
  const declared = headers['x-amz-trailer'];
  if (declared === undefined || declared.trim() === '') return undefined;
  const algorithm = algorithmOfHeader(declared.trim());
  if (algorithm === undefined) {
    throw s3Error(
      'InvalidRequest',
      `the trailer "${declared.slice(0, 64)}" is not an x-amz-checksum- trailer this server knows`,
    );
  }
  return algorithm;
}

/** Content-MD5 decoded to its 16 bytes; anything else is InvalidDigest. */
export function contentMd5(headers: Readonly<Record<string, string | undefined>>): Buffer | undefined {
  const value = headers['content-md5'];
  if (value === undefined) return undefined;
  const bytes = Buffer.from(value.trim(), 'base64');
  if (bytes.length !== 16 || bytes.toString('base64') !== value.trim()) {
    throw s3Error('InvalidDigest', 'the Content-MD5 you specified was invalid');
  }
  return bytes;
}
