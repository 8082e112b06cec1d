/**
 * AWS Signature Version 2 (S3's older "REST authentication"): `Authorization: AWS <key>:<sig>`, and
 * presigned query strings (`AWSAccessKeyId`, `Expires`, `Signature`). Still what `s3cmd signurl`
 * and boto3 up to 1.35 (`generate_presigned_url`) produce. The signature is base64 HMAC-SHA1 of
 *   method \n Content-MD5 \n Content-Type \n date \n x-amz-* headers (`name:value\n`, sorted) resource
 * where date is the Date header (see dateLinesOf for x-amz-date) or, presigned, the Expires value;
 * resource is the path as sent (after `/bucket` for a virtual-host request) and the sub-resources
 * of the query, sorted by name, values decoded. The body is not signed.
 */
import { createHmac } from 'node:crypto';
import { s3Error } from './errors.js';
import { type QueryParam, strictPath } from './sigv4-canonical.js';
import { sameSignature, tryDecode } from './sigv4-crypto.js';
import { parseAmzDate } from './sigv4-parse.js';
import type { AuthResult, PayloadMode, S3Request } from './sigv4-types.js';

/** Query parameters that name a sub-resource (or override the answer): these are signed. */
const SUBRESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'defaultObjectAcl',
  'delete',
  'inventory',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'partNumber',
  'policy',
  'replication',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'select',
  'select-type',
  'storageClass',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
]);

const QUERY_PARAMS = ['AWSAccessKeyId', 'Expires', 'Signature'] as const;
/** base64 of a 20-byte SHA-1 HMAC. */
const SIGNATURE_RE = /^[A-Za-z0-9+/]{27}=$/;

export function isV2Header(header: string): boolean {
  return header.startsWith('AWS ');
}

export function isV2Query(params: readonly QueryParam[]): boolean {
  return params.some((p) => p.name === 'AWSAccessKeyId' || p.name === 'Signature');
}

/** `Authorization: AWS AKID:base64sig`; the request time (Date or x-amz-date) within `maxSkewMs`. */
export function verifyV2Header(
  req: S3Request,
  header: string,
  secretOf: (accessKey: string) => string | undefined,
  nowMs: number,
  maxSkewMs: number,
): AuthResult {
  const m = /^AWS ([^:\s]+):(\S+)$/.exec(header);
  if (!m)
    throw s3Error(
      'InvalidArgument',
      'AWS authorization header is invalid; expected AwsAccessKeyId:signature',
    );
  const [, accessKey = '', signature = ''] = m;
  const secret = secretOf(accessKey);
  if (secret === undefined) {
    throw s3Error('InvalidAccessKeyId', 'the AWS access key id you provided does not exist in our records');
  }
  const amzDate = req.headers['x-amz-date'];
  const dateMs = timeOf(amzDate ?? req.headers.date);
  if (dateMs === undefined)
    throw s3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  if (Math.abs(nowMs - dateMs) > maxSkewMs) {
    throw s3Error(
      'RequestTimeTooSkewed',
      'the difference between the request time and the current time is too large',
    );
  }
  check(req, req.headers, dateLinesOf(req.headers), secret, signature);
  return { accessKey, payload: payloadOf(req), presigned: false, region: '' };
}

/** `?AWSAccessKeyId=…&Expires=<epoch seconds>&Signature=…`; refused once Expires has passed. */
export function verifyV2Query(
  req: S3Request,
  params: readonly QueryParam[],
  secretOf: (accessKey: string) => string | undefined,
  nowMs: number,
): AuthResult {
  const one = new Map<string, string>();
  for (const p of params) {
    if (!(QUERY_PARAMS as readonly string[]).includes(p.name)) continue;
    if (one.has(p.name)) throw s3Error('InvalidArgument', `the query repeats ${p.name}`);
    one.set(p.name, p.value);
  }
  const [accessKey, expires, signature] = QUERY_PARAMS.map((n) => one.get(n));
  if (!accessKey || expires === undefined || signature === undefined) {
    throw s3Error(
      'AccessDenied',
      'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
    );
  }
  const secret = secretOf(accessKey);
  if (secret === undefined) {
    throw s3Error('InvalidAccessKeyId', 'the AWS access key id you provided does not exist in our records');
  }
  if (!/^\d{1,12}$/.test(expires)) throw s3Error('AccessDenied', 'Expires must be a whole number of seconds');
  if (nowMs > Number(expires) * 1000) throw s3Error('AccessDenied', 'Request has expired');
  // A presigner may carry Content-Type, Content-MD5 and x-amz-* in the query instead of headers
  // (botocore does): a header sent with the request wins.
  const headers: Record<string, string | undefined> = {};
  for (const p of params) {
    const name = p.name.toLowerCase();
    if (name === 'content-type' || name === 'content-md5' || name.startsWith('x-amz-'))
      headers[name] = p.value;
  }
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = value;
  check(req, headers, [{ line: expires, amz: amzHeaders(headers) }], secret, signature);
  return { accessKey, payload: payloadOf(req), presigned: true, region: '' };
}

/** Date or x-amz-date as ms: RFC 1123 (what V2 clients send), or ISO 8601 basic. */
function timeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const iso = parseAmzDate(text);
  if (iso !== undefined) return iso;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A date line and the x-amz-* block that goes with it. */
interface DateReading {
  readonly line: string;
  readonly amz: string;
}

/**
 * The readings of the request time a V2 signer may have used. Without x-amz-date: the Date header.
 * With it, AWS documents two: an empty date line with x-amz-date among the x-amz-* headers (s3cmd),
 * and x-amz-date's value as the date line instead (the DELETE example of AWS's V2 guide); a signer
 * that sets Date regardless (botocore) signs Date's value and the x-amz-* block.
 */
function dateLinesOf(headers: Readonly<Record<string, string | undefined>>): DateReading[] {
  const amz = amzHeaders(headers);
  const date = headers.date ?? '';
  const amzDate = headers['x-amz-date'];
  if (amzDate === undefined) return [{ line: date, amz }];
  const { 'x-amz-date': _, ...rest } = headers;
  return [
    { line: '', amz },
    { line: amzDate.trim(), amz: amzHeaders(rest) },
    ...(date === '' ? [] : [{ line: date, amz }]),
  ];
}

/**
 * Compares in constant time against each reading of the date and of the path: as sent, then
 * re-encoded strictly (a client that sent a character raw but signed it %-encoded), as SigV4 does.
 */
function check(
  req: S3Request,
  headers: Readonly<Record<string, string | undefined>>,
  dates: readonly DateReading[],
  secret: string,
  signature: string,
): void {
  if (SIGNATURE_RE.test(signature)) {
    const head = `${req.method}\n${(headers['content-md5'] ?? '').trim()}\n${(headers['content-type'] ?? '').trim()}\n`;
    const resource = req.hostBucket === undefined ? '' : `/${req.hostBucket}`;
    const sub = subresources(req.rawQuery);
    for (const path of pathsOf(req)) {
      for (const d of dates) {
        const toSign = `${head}${d.line}\n${d.amz}${resource}${path}${sub}`;
        const expected = createHmac('sha1', secret).update(toSign, 'utf8').digest('base64');
        if (sameSignature(expected, signature)) return;
      }
    }
  }
  throw s3Error(
    'SignatureDoesNotMatch',
    'the request signature we calculated does not match the signature you provided; check your key and signing method',
  );
}

/**
 * The path as sent, then re-encoded strictly (strictPath); a path-style bucket (`/bucket`) also as
 * `/bucket/`, the resource S3 builds from bucket and empty key, which botocore signs.
 */
function pathsOf(req: S3Request): string[] {
  const raw = req.rawPath === '' ? '/' : req.rawPath;
  const strict = strictPath(raw);
  const paths = strict === undefined ? [raw] : [raw, strict];
  if (req.hostBucket === undefined && /^\/[^/]+$/.test(req.rawPath)) paths.push(`${req.rawPath}/`);
  return paths;
}

/** `name:value\n` for every x-amz-* header, by name; values trimmed. */
function amzHeaders(headers: Readonly<Record<string, string | undefined>>): string {
  const names = Object.keys(headers)
    .filter((n) => n.startsWith('x-amz-') && headers[n] !== undefined)
    .sort();
  return names.map((n) => `${n}:${(headers[n] ?? '').trim()}\n`).join('');
}

/** `?name[=value]&…` of the signed sub-resources, sorted by name, values decoded; '' when none. */
function subresources(rawQuery: string): string {
  const found: [string, string][] = [];
  for (const part of rawQuery === '' ? [] : rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const name = tryDecode(eq < 0 ? part : part.slice(0, eq)) ?? part;
    if (!SUBRESOURCES.has(name)) continue;
    const raw = part.slice(eq + 1);
    found.push([name, eq < 0 ? name : `${name}=${tryDecode(raw) ?? raw}`]);
  }
  if (found.length === 0) return '';
  found.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `?${found.map(([, text]) => text).join('&')}`;
}

/** The body is not signed in V2: it is verified only against an x-amz-content-sha256 a client adds. */
function payloadOf(req: S3Request): PayloadMode {
  const sha = req.headers['x-amz-content-sha256'];
  if (sha === undefined || sha === 'UNSIGNED-PAYLOAD') return { kind: 'unsigned' };
  if (sha === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') return { kind: 'streaming-unsigned-trailer' };
  if (/^[0-9a-f]{64}$/i.test(sha)) return { kind: 'sha256', sha256: sha.toLowerCase() };
  throw s3Error('InvalidArgument', `x-amz-content-sha256 ${sha.slice(0, 64)} needs AWS4-HMAC-SHA256 signing`);
}
