/** Bucket and key names as S3 allows them. */
import { s3Error } from './errors.js';

/** S3's limit on a key: 1,024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;

/**
 * S3's bucket naming rules (general purpose buckets): 3–63 of [a-z0-9.-], starting and ending
 * with a letter or digit, no `..`, not shaped like an IP address, none of the reserved affixes.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    return 'may hold only lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit';
  }
  if (name.includes('..')) return 'must not contain two adjacent dots';
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return 'must not look like an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name) || /(-s3alias|--ol-s3|\.mrap|--x-s3)$/.test(name)) {
    return 'uses a prefix or suffix S3 reserves';
  }
  return undefined;
}

export function assertBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem) throw s3Error('InvalidBucketName', `The specified bucket is not valid: ${problem}.`);
}

/** A key is any UTF-8 text of 1..1024 bytes: never a path, so `../x` is just a key. */
export function assertKey(key: string): void {
  if (key.length === 0) throw s3Error('InvalidArgument', 'An object key must not be empty.');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw s3Error('KeyTooLongError', 'Your key is too long (more than 1024 bytes of UTF-8).');
  }
}
