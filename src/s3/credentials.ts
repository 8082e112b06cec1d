import { randomBytes } from 'node:crypto';
import { FdfsError, Status } from '../common/index.js';

export interface S3Credential {
  readonly accessKey: string;
  readonly secretKey: string;
}

// Access keys appear in the credential scope (split on '/') and in logs: a plain URL-safe set.
const ACCESS_RE = /^[A-Za-z0-9._~-]{3,128}$/;
// Secrets are only ever HMAC input: any printable ASCII but space, 8 to 128 characters.
const SECRET_RE = /^[\x21-\x7e]{8,128}$/;

/** `ACCESS_KEY:SECRET_KEY` (the secret may itself contain ':') → a checked pair. */
export function parseCredential(text: string): S3Credential {
  const colon = text.indexOf(':');
  if (colon < 0) throw new FdfsError(Status.EINVAL, 's3.credential must be ACCESS_KEY:SECRET_KEY');
  const accessKey = text.slice(0, colon).trim();
  const secretKey = text.slice(colon + 1).trim();
  if (!ACCESS_RE.test(accessKey)) {
    throw new FdfsError(
      Status.EINVAL,
      's3.credential: the access key must be 3-128 characters of A-Z a-z 0-9 . _ ~ -',
    );
  }
  // Never echo the secret, even in part.
  if (!SECRET_RE.test(secretKey)) {
    throw new FdfsError(
      Status.EINVAL,
      `s3.credential ${accessKey}: the secret must be 8-128 printable ASCII characters, no spaces`,
    );
  }
  return { accessKey, secretKey };
}

/** The lookup verifyRequest takes, over a checked list; a repeated access key is a config error. */
export function credentialLookup(creds: readonly S3Credential[]): (accessKey: string) => string | undefined {
  const byKey = new Map<string, string>();
  for (const c of creds) {
    if (byKey.has(c.accessKey))
      throw new FdfsError(Status.EINVAL, `s3.credential ${c.accessKey} is given twice`);
    byKey.set(c.accessKey, c.secretKey);
  }
  return (accessKey) => byKey.get(accessKey);
}

/** A fresh pair shaped like AWS's: 20 upper-case letters and digits, 40 base64url characters. */
export function generateCredential(): S3Credential {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const raw = randomBytes(20);
  let accessKey = '';
  for (const byte of raw) accessKey += alphabet[byte & 31];
  return { accessKey, secretKey: randomBytes(30).toString('base64url') };
}

/** The one-line form of a pair, as s3.credential and the credentials file hold it. */
export function formatCredential(c: S3Credential): string {
  return `${c.accessKey}:${c.secretKey}`;
}
