/**
 * The one FdfsError → S3 error table. Everything under s3 (sigv4, namespace, object I/O) throws
 * FdfsError; an S3 case carries its S3 code as `detail`, and only here does it become an HTTP
 * status and an `<Error>` body. Errors without a detail (the client library, a storage, the
 * disk) fall back on their errno, and their messages, which name peers by address, stay in the log.
 */
import { randomBytes } from 'node:crypto';
import { FdfsError, Status } from '../common/index.js';
import { doc, el } from './xml-write.js';

/** S3 error codes this front end answers, with their HTTP status (as AWS documents them). */
export const S3_STATUS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidLocationConstraint: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidStorageClass: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MaxMessageLengthExceeded: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  MissingRequestBodyError: 400,
  MissingSecurityHeader: 400,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  OperationAborted: 409,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  RequestTimeout: 400,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
} as const;
export type S3Code = keyof typeof S3_STATUS;

/** The errno each code is raised with, so logs and native tooling still see a meaningful status. */
const ERRNO_OF: Partial<Record<S3Code, number>> = {
  AccessDenied: Status.EACCES,
  InvalidAccessKeyId: Status.EACCES,
  SignatureDoesNotMatch: Status.EPERM,
  RequestTimeTooSkewed: Status.EPERM,
  NoSuchBucket: Status.ENOENT,
  NoSuchKey: Status.ENOENT,
  NoSuchUpload: Status.ENOENT,
  BucketAlreadyExists: Status.EEXIST,
  BucketAlreadyOwnedByYou: Status.EEXIST,
  BucketNotEmpty: Status.EEXIST,
  OperationAborted: Status.EEXIST,
  EntityTooLarge: Status.EFBIG,
  MaxMessageLengthExceeded: Status.EFBIG,
  KeyTooLongError: Status.ENAMETOOLONG,
  NotImplemented: Status.EOPNOTSUPP,
  InternalError: Status.EIO,
  ServiceUnavailable: Status.EAGAIN,
  SlowDown: Status.EAGAIN,
};

/** Errno fallback for errors that carry no S3 detail. */
const CODE_BY_ERRNO: Readonly<Record<number, S3Code>> = {
  [Status.ENOENT]: 'NoSuchKey',
  [Status.EACCES]: 'AccessDenied',
  [Status.EPERM]: 'AccessDenied',
  [Status.EINVAL]: 'InvalidArgument',
  [Status.ENAMETOOLONG]: 'KeyTooLongError',
  [Status.EFBIG]: 'EntityTooLarge',
  [Status.EEXIST]: 'OperationAborted',
  [Status.EOPNOTSUPP]: 'NotImplemented',
  [Status.ENOSPC]: 'InternalError',
  [Status.EIO]: 'InternalError',
  [Status.ECONNREFUSED]: 'ServiceUnavailable',
  [Status.ECONNRESET]: 'ServiceUnavailable',
  [Status.ETIMEDOUT]: 'ServiceUnavailable',
  [Status.EAGAIN]: 'ServiceUnavailable',
  [Status.EBUSY]: 'ServiceUnavailable',
};

/** What a client is told when the error's own message is not for it. */
const REASON: Partial<Record<S3Code, string>> = {
  NoSuchKey: 'The specified key does not exist.',
  AccessDenied: 'Access Denied',
  InvalidArgument: 'Invalid Argument',
  KeyTooLongError: 'Your key is too long',
  EntityTooLarge: 'Your proposed upload exceeds the maximum allowed size',
  OperationAborted: 'A conflicting conditional operation is currently in progress against this resource.',
  NotImplemented: 'A header you provided implies functionality that is not implemented',
  InternalError: 'We encountered an internal error. Please try again.',
  ServiceUnavailable: 'Please reduce your request rate or try again: a storage is unavailable.',
};

export function isS3Code(s: string): s is S3Code {
  return Object.hasOwn(S3_STATUS, s);
}

/** An S3 error raised by this front end: its message is written for the client. */
export function s3Error(code: S3Code, message: string, opts: { cause?: unknown; fileId?: string } = {}) {
  return new FdfsError(ERRNO_OF[code] ?? Status.EINVAL, message, { ...opts, detail: code });
}

const extraHeaders = new WeakMap<FdfsError, Readonly<Record<string, string>>>();

/** Headers an error answer carries besides the XML (Content-Range of an InvalidRange). */
export function withHeaders(err: FdfsError, headers: Readonly<Record<string, string>>): FdfsError {
  extraHeaders.set(err, headers);
  return err;
}

export function headersOf(err: unknown): Readonly<Record<string, string>> {
  return (err instanceof FdfsError && extraHeaders.get(err)) || {};
}

export interface S3Failure {
  readonly code: S3Code;
  readonly status: number;
  readonly message: string;
}

/** Detail first (when it names an S3 code), errno second; anything else is an InternalError. */
export function s3FailureOf(err: unknown): S3Failure {
  if (!(err instanceof FdfsError)) {
    return { code: 'InternalError', status: 500, message: REASON.InternalError as string };
  }
  if (err.detail !== undefined && isS3Code(err.detail)) {
    return { code: err.detail, status: S3_STATUS[err.detail], message: err.message };
  }
  const code = CODE_BY_ERRNO[err.status] ?? 'InternalError';
  // A detail that is no S3 code was still raised for the client (e.g. by sigv4): keep its words.
  const message = err.detail !== undefined ? err.message : (REASON[code] ?? code);
  return { code, status: S3_STATUS[code], message };
}

// A random start and a counter: unique per process without a crypto call on every request. Two
// 32-bit halves as numbers: the BigInt sum and its formatting cost more than the rest of a cached GET's bookkeeping.
let idHigh = randomBytes(4).readUInt32BE(0);
let idLow = randomBytes(4).readUInt32BE(0);
let highHex = hex8(idHigh);

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

/** A fresh x-amz-request-id: 16 upper-case hex digits, like AWS's. */
export function newRequestId(): string {
  idLow = (idLow + 1) >>> 0;
  if (idLow === 0) {
    idHigh = (idHigh + 1) >>> 0;
    highHex = hex8(idHigh);
  }
  return highHex + hex8(idLow);
}

/** The `<Error>` document; `extra` adds fields some codes carry (e.g. BucketName, Key). */
export function errorXml(
  f: S3Failure,
  resource: string,
  requestId: string,
  extra: Readonly<Record<string, string>> = {},
): string {
  return doc(
    el(
      'Error',
      el('Code', f.code),
      el('Message', f.message),
      ...Object.entries(extra).map(([k, v]) => el(k, v)),
      el('Resource', resource),
      el('RequestId', requestId),
    ),
  );
}
