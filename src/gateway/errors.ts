/**
 * The one errno → HTTP table. Everything below the gateway speaks FastDFS errnos (FdfsError);
 * only here do they become HTTP statuses, so a route never picks a status by hand for a failure.
 */
import { FdfsError, Status } from '../common/index.js';

const httpByErrno: Readonly<Record<number, number>> = {
  [Status.EINVAL]: 400, // malformed id, URL, form, Range spec
  [Status.ENAMETOOLONG]: 400,
  [Status.EACCES]: 401, // no or unknown credentials
  [Status.EPERM]: 403, // credentials fine, but not for this (bad token, link for another file)
  [Status.ENOENT]: 404,
  [Status.EEXIST]: 409,
  [Status.EFBIG]: 413, // a part over http.upload.max_size, too many parts or fields
  [Status.EOPNOTSUPP]: 501, // a feature the conf leaves off (signed links without a key)
  [Status.ECONNREFUSED]: 502, // a tracker or storage is down
  [Status.ECONNRESET]: 502,
  [Status.EAGAIN]: 503,
  [Status.EBUSY]: 503,
  [Status.ETIMEDOUT]: 504,
  [Status.ENOSPC]: 507,
};

export function httpStatusOf(err: unknown): number {
  return err instanceof FdfsError ? (httpByErrno[err.status] ?? 500) : 500;
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** What a client is told. A non-FdfsError is a bug: its text stays in the log, not the answer. */
export function errorBody(err: unknown): ErrorBody {
  if (err instanceof FdfsError) return { error: { code: err.code, message: err.message } };
  return { error: { code: 'FDFS_ERR_EIO', message: 'internal error' } };
}

/** Shorthands for the errors routes raise themselves. */
export const fail = {
  badRequest: (msg: string, fileId?: string) => new FdfsError(Status.EINVAL, msg, fileId ? { fileId } : {}),
  unauthorized: (msg: string) => new FdfsError(Status.EACCES, msg),
  forbidden: (msg: string, fileId?: string) => new FdfsError(Status.EPERM, msg, fileId ? { fileId } : {}),
  notFound: (msg: string, fileId?: string) => new FdfsError(Status.ENOENT, msg, fileId ? { fileId } : {}),
  tooLarge: (msg: string) => new FdfsError(Status.EFBIG, msg),
  notEnabled: (msg: string) => new FdfsError(Status.EOPNOTSUPP, msg),
};
