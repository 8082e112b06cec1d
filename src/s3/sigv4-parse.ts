import { type S3Code, s3Error } from './errors.js';
import type { QueryParam } from './sigv4-canonical.js';

/** What the Authorization header or the presigned query says about the signature. */
export interface SignatureClaim {
  readonly accessKey: string;
  readonly scopeDate: string; // YYYYMMDD
  readonly region: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

export const ALGORITHM = 'AWS4-HMAC-SHA256';
const SIGNATURE_RE = /^[0-9a-f]{64}$/;
const HEADER_NAME_RE = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;

function parseCredential(value: string, code: S3Code): Omit<SignatureClaim, 'signedHeaders' | 'signature'> {
  const parts = value.split('/');
  const [accessKey, scopeDate, region, service, terminator] = parts;
  if (parts.length !== 5 || !accessKey || !scopeDate || !region || !service || !terminator) {
    throw s3Error(
      code,
      'the Credential is malformed; expecting "<ACCESS-KEY>/YYYYMMDD/REGION/SERVICE/aws4_request"',
    );
  }
  if (!/^\d{8}$/.test(scopeDate)) throw s3Error(code, `invalid credential date "${scopeDate}"`);
  if (service !== 's3') throw s3Error(code, `the credential is for service "${service}"; expecting "s3"`);
  if (terminator !== 'aws4_request')
    throw s3Error(code, `the credential ends with "${terminator}"; expecting "aws4_request"`);
  return { accessKey, scopeDate, region };
}

function parseSignedHeaders(value: string, code: S3Code): string[] {
  const names = value.split(';');
  if (names.some((n) => !HEADER_NAME_RE.test(n))) throw s3Error(code, 'the SignedHeaders list is malformed');
  if (!names.includes('host')) throw s3Error(code, 'the host header must be signed');
  return names;
}

function checkSignature(value: string, code: S3Code): string {
  if (!SIGNATURE_RE.test(value)) throw s3Error(code, 'the Signature is not 64 lower-case hex digits');
  return value;
}

/** `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=…, Signature=…` */
export function parseAuthorizationHeader(value: string): SignatureClaim {
  const code = 'AuthorizationHeaderMalformed';
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw s3Error(
      'InvalidArgument',
      `unsupported authorization type "${algorithm.slice(0, 40)}"; use ${ALGORITHM}`,
    );
  }
  const fields = new Map<string, string>();
  for (const item of value.slice(space + 1).split(',')) {
    const text = item.trim();
    const eq = text.indexOf('=');
    if (eq <= 0) throw s3Error(code, 'the authorization header is malformed');
    const name = text.slice(0, eq);
    if (fields.has(name)) throw s3Error(code, `the authorization header repeats ${name}`);
    fields.set(name, text.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (
    credential === undefined ||
    signedHeaders === undefined ||
    signature === undefined ||
    fields.size !== 3
  ) {
    throw s3Error(code, 'the authorization header needs exactly Credential, SignedHeaders and Signature');
  }
  // Fields named one by one: an object spread here cost ~10 µs a request (V8's slow clone path).
  const { accessKey, scopeDate, region } = parseCredential(credential, code);
  return {
    accessKey,
    scopeDate,
    region,
    signedHeaders: parseSignedHeaders(signedHeaders, code),
    signature: checkSignature(signature, code),
  };
}

export interface PresignClaim extends SignatureClaim {
  readonly amzDate: string;
  readonly expiresSeconds: number;
  readonly payloadHash: string | undefined;
}

export const PRESIGN_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
] as const;

export function isPresigned(params: readonly QueryParam[]): boolean {
  return params.some(
    (p) => p.name === 'X-Amz-Algorithm' || p.name === 'X-Amz-Signature' || p.name === 'X-Amz-Credential',
  );
}

export function parsePresignQuery(params: readonly QueryParam[]): PresignClaim {
  const code = 'AuthorizationQueryParametersError';
  // The six named one by one (no Map): this runs for every presigned request not seen before.
  let algorithm: string | undefined;
  let credential: string | undefined;
  let amzDate: string | undefined;
  let expires: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  let payloadHash: string | undefined;
  const seen: string[] = []; // a handful: a scan costs less than a Set
  for (const p of params) {
    const name = p.name;
    // Any spelling: SDKs hoist the header under the name they gave it.
    if (payloadHash === undefined && name.length === 20 && name.toLowerCase() === 'x-amz-content-sha256')
      payloadHash = p.value;
    if (!name.startsWith('X-Amz-')) continue;
    if (seen.includes(name)) throw s3Error(code, `the query repeats ${name}`);
    seen.push(name);
    switch (name) {
      case 'X-Amz-Algorithm':
        algorithm = p.value;
        break;
      case 'X-Amz-Credential':
        credential = p.value;
        break;
      case 'X-Amz-Date':
        amzDate = p.value;
        break;
      case 'X-Amz-Expires':
        expires = p.value;
        break;
      case 'X-Amz-SignedHeaders':
        signedHeaders = p.value;
        break;
      case 'X-Amz-Signature':
        signature = p.value;
        break;
    }
  }
  if (
    algorithm === undefined ||
    credential === undefined ||
    amzDate === undefined ||
    expires === undefined ||
    signedHeaders === undefined ||
    signature === undefined
  ) {
    throw s3Error(
      code,
      `query-string authentication version 4 requires the ${PRESIGN_PARAMS.join(', ')} parameters`,
    );
  }
  if (algorithm !== ALGORITHM) throw s3Error(code, `X-Amz-Algorithm only supports "${ALGORITHM}"`);
  if (!/^\d{1,6}$/.test(expires)) throw s3Error(code, 'X-Amz-Expires must be a whole number of seconds');
  const expiresSeconds = Number(expires);
  if (expiresSeconds < 1) throw s3Error(code, 'X-Amz-Expires must be at least 1 second');
  if (expiresSeconds > 604800) {
    throw s3Error(code, 'X-Amz-Expires must be less than a week (in seconds) that is 604800');
  }
  const { accessKey, scopeDate, region } = parseCredential(credential, code);
  return {
    accessKey,
    scopeDate,
    region,
    signedHeaders: parseSignedHeaders(signedHeaders, code),
    signature: checkSignature(signature, code),
    amzDate,
    expiresSeconds,
    payloadHash,
  };
}

/** `20130524T000000Z` → ms since epoch, or undefined when malformed. */
/** The last date parsed: requests signed within the same second (and a reused presigned URL) share it. */
let lastDate: { readonly text: string; readonly ms: number | undefined } | undefined;

export function parseAmzDate(text: string): number | undefined {
  if (lastDate?.text === text) return lastDate.ms;
  const ms = parseAmzDateOnce(text);
  lastDate = { text, ms };
  return ms;
}

function parseAmzDateOnce(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
    return undefined;
  return ms;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
