import { s3Error } from './errors.js';
import { isV2Header, isV2Query, verifyV2Header, verifyV2Query } from './sigv2.js';
import {
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  parseQuery,
  type QueryParam,
  strictPath,
} from './sigv4-canonical.js';
import { ChainedChunkSigner } from './sigv4-chunk-signer.js';
import { sameSignature, sha256Hex, signatureHex, signingKey } from './sigv4-crypto.js';
import {
  ALGORITHM,
  formatAmzDate,
  isPresigned,
  parseAmzDate,
  parseAuthorizationHeader,
  parsePresignQuery,
  type SignatureClaim,
} from './sigv4-parse.js';
import type { AuthResult, PayloadMode, S3Request } from './sigv4-types.js';

export { parseQuery, type QueryParam } from './sigv4-canonical.js';
export type { AuthResult, ChunkSigner, PayloadMode, S3Request } from './sigv4-types.js';

/** S3 refuses requests whose clock differs from its own by more than this. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

export type SecretLookup = (accessKey: string) => string | undefined;

/**
 * Authenticates one request: SigV4 in the Authorization header, presigned query parameters, their
 * SigV2 counterparts (sigv2.ts), or none (anonymous). Throws FdfsError whose `detail` is the S3
 * error code. Only the headers, path and query are looked at; the body is checked later by
 * bodyVerifier / awsChunkedDecoder through the returned payload mode.
 */
export function verifyRequest(req: S3Request, secretOf: SecretLookup, nowMs: number): AuthResult {
  const params = req.params ?? parseQuery(req.rawQuery);
  const header = req.headers.authorization;
  const presigned = isPresigned(params);
  if (header !== undefined && presigned) {
    throw s3Error(
      'InvalidArgument',
      'only one auth mechanism allowed: the Authorization header or X-Amz-* query parameters',
    );
  }
  const v2Query = !presigned && isV2Query(params);
  if (header !== undefined && v2Query) {
    throw s3Error(
      'InvalidArgument',
      'only one auth mechanism allowed: the Authorization header or AWSAccessKeyId query parameters',
    );
  }
  if (header !== undefined && isV2Header(header)) {
    return verifyV2Header(req, header, secretOf, nowMs, MAX_SKEW_MS);
  }
  if (header !== undefined) return verifyHeaderAuth(req, params, header, secretOf, nowMs);
  if (presigned) return verifyPresigned(req, params, secretOf, nowMs);
  if (v2Query) return verifyV2Query(req, params, secretOf, nowMs);
  const payload = payloadMode(req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD', undefined);
  return { accessKey: undefined, payload, presigned: false, region: '' };
}

function verifyHeaderAuth(
  req: S3Request,
  params: readonly QueryParam[],
  header: string,
  secretOf: SecretLookup,
  nowMs: number,
): AuthResult {
  const claim = parseAuthorizationHeader(header);
  const secret = lookup(claim, secretOf);
  const amzDate = requestDate(req);
  if (amzDate === undefined)
    throw s3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  const dateMs = parseAmzDate(amzDate) as number;
  if (Math.abs(nowMs - dateMs) > MAX_SKEW_MS) {
    throw s3Error(
      'RequestTimeTooSkewed',
      'the difference between the request time and the current time is too large',
    );
  }
  if (!amzDate.startsWith(claim.scopeDate)) {
    throw s3Error(
      'AuthorizationHeaderMalformed',
      'invalid credential date: it is not the date of x-amz-date',
    );
  }
  const contentSha = req.headers['x-amz-content-sha256'];
  if (contentSha === undefined) {
    throw s3Error('InvalidRequest', 'missing required header for this request: x-amz-content-sha256');
  }
  checkAllAmzSigned(req, claim);
  const scope = `${claim.scopeDate}/${claim.region}/s3/aws4_request`;
  const key = signingKey(secret, claim.scopeDate, claim.region, 's3');
  const payload = payloadMode(contentSha, new ChainedChunkSigner(key, amzDate, scope, claim.signature));
  checkSignature(req, params, claim, key, amzDate, scope, contentSha, undefined);
  return { accessKey: claim.accessKey, payload, presigned: false, region: claim.region };
}

function verifyPresigned(
  req: S3Request,
  params: readonly QueryParam[],
  secretOf: SecretLookup,
  nowMs: number,
): AuthResult {
  const claim = parsePresignQuery(params);
  const secret = lookup(claim, secretOf);
  const dateMs = parseAmzDate(claim.amzDate);
  if (dateMs === undefined)
    throw s3Error('AuthorizationQueryParametersError', 'X-Amz-Date must be in ISO 8601 basic format');
  if (!claim.amzDate.startsWith(claim.scopeDate)) {
    throw s3Error(
      'AuthorizationQueryParametersError',
      'invalid credential date: it is not the date of X-Amz-Date',
    );
  }
  if (dateMs - nowMs > MAX_SKEW_MS) throw s3Error('AccessDenied', 'request is not valid yet');
  if (nowMs > dateMs + claim.expiresSeconds * 1000) throw s3Error('AccessDenied', 'Request has expired');
  checkAllAmzSigned(req, claim);
  // A presigned URL carries its payload hash in the query, or in a signed header, or signs none.
  const signedSha = claim.signedHeaders.includes('x-amz-content-sha256')
    ? req.headers['x-amz-content-sha256']
    : undefined;
  const payloadHash = claim.payloadHash ?? signedSha ?? 'UNSIGNED-PAYLOAD';
  const scope = `${claim.scopeDate}/${claim.region}/s3/aws4_request`;
  const key = signingKey(secret, claim.scopeDate, claim.region, 's3');
  const payload = payloadMode(payloadHash, undefined);
  checkSignature(req, params, claim, key, claim.amzDate, scope, payloadHash, 'X-Amz-Signature');
  return { accessKey: claim.accessKey, payload, presigned: true, region: claim.region };
}

function lookup(claim: SignatureClaim, secretOf: SecretLookup): string {
  const secret = secretOf(claim.accessKey);
  if (secret === undefined) {
    throw s3Error('InvalidAccessKeyId', 'the AWS access key id you provided does not exist in our records');
  }
  return secret;
}

/** x-amz-date, else a Date header (either format), as the ISO 8601 basic text the signer used. */
function requestDate(req: S3Request): string | undefined {
  const amz = req.headers['x-amz-date'];
  if (amz !== undefined) return parseAmzDate(amz) === undefined ? undefined : amz;
  const date = req.headers.date;
  if (date === undefined) return undefined;
  if (parseAmzDate(date) !== undefined) return date;
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? undefined : formatAmzDate(ms);
}

/** Every x-amz-* header must be signed, or a captured request could be replayed with new ones. */
function checkAllAmzSigned(req: S3Request, claim: SignatureClaim): void {
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-amz-') && req.headers[name] !== undefined && !claim.signedHeaders.includes(name)) {
      throw s3Error(
        'AccessDenied',
        `there were headers present in the request which were not signed: ${name}`,
      );
    }
  }
}

/**
 * Computes the signature over the request as sent and compares in constant time. Only when that
 * fails is the path tried re-encoded strictly (for clients that send '!' or '$' raw but sign them
 * %-encoded): the same decoded path, so the same key. The query has one reading only, '+' a
 * literal plus as the SDKs encode it (a space is %20): routes must read it with parseQuery too, or
 * a request could be verified under one meaning and served under another.
 */
function checkSignature(
  req: S3Request,
  params: readonly QueryParam[],
  claim: SignatureClaim,
  key: Buffer,
  amzDate: string,
  scope: string,
  payloadHash: string,
  skipParam: string | undefined,
): void {
  const headerBlock = canonicalHeaders(claim.signedHeaders, req.headers);
  const query = canonicalQuery(params, skipParam);
  const signs = (path: string) => {
    const creq = canonicalRequest(req.method, path, query, headerBlock, claim.signedHeaders, payloadHash);
    const toSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(creq)}`;
    return sameSignature(signatureHex(key, toSign), claim.signature);
  };
  if (signs(req.rawPath === '' ? '/' : req.rawPath)) return;
  // The strict re-encoding is worked out only for a request the raw path did not verify.
  const strict = strictPath(req.rawPath);
  if (strict !== undefined && signs(strict)) return;
  throw s3Error(
    'SignatureDoesNotMatch',
    'the request signature we calculated does not match the signature you provided; check your key and signing method',
  );
}

function payloadMode(value: string, chunks: ChainedChunkSigner | undefined): PayloadMode {
  if (/^[0-9a-f]{64}$/i.test(value)) return { kind: 'sha256', sha256: value.toLowerCase() };
  switch (value) {
    case 'UNSIGNED-PAYLOAD':
      return { kind: 'unsigned' };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'streaming-unsigned-trailer' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      if (chunks === undefined) {
        throw s3Error('InvalidArgument', `${value} needs a signed Authorization header`);
      }
      return { kind: 'streaming-signed', trailer: value.endsWith('-TRAILER'), chunks };
  }
  throw s3Error(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, ' +
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] or a valid sha256 value',
  );
}
