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
  [Status.EMEDIUMTYPE]: 415, // an image variant of a file that is no image we decode
};

/** nginx's status for a request the client closed before the answer: its doing, logged at info. */
export const CLIENT_CLOSED = 499;

export function httpStatusOf(err: unknown): number {
  return err instanceof FdfsError ? (httpByErrno[err.status] ?? 500) : 500;
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/**
 * Errors whose message was written for the client: raised by the gateway itself (`fail`) or
 * about the client's own input (`spoken`). Everything else comes from the client library or the
 * storage, whose messages name trackers and storages by address: those stay in the log.
 */
const forClients = new WeakSet<FdfsError>();

/** What a client is told when the message is not for it: the reason, by errno. */
const reasonByErrno: Readonly<Record<number, string>> = {
  [Status.EINVAL]: 'invalid request',
  [Status.ENAMETOOLONG]: 'a name is too long',
  [Status.EACCES]: 'credentials required',
  [Status.EPERM]: 'not allowed',
  [Status.ENOENT]: 'file not found',
  [Status.EEXIST]: 'file already exists',
  [Status.EFBIG]: 'file is larger than the upload limit',
  [Status.EOPNOTSUPP]: 'not enabled on this gateway',
  [Status.ECONNREFUSED]: 'a tracker or storage is unreachable',
  [Status.ECONNRESET]: 'a tracker or storage is unreachable',
  [Status.EAGAIN]: 'the cluster is busy, try again',
  [Status.EBUSY]: 'the cluster is busy, try again',
  [Status.ETIMEDOUT]: 'a tracker or storage did not answer in time',
  [Status.ENOSPC]: 'no space left on the storage',
  [Status.EMEDIUMTYPE]: 'not an image',
};

/** Marks an error about the client's own input (a file id it sent) as fit to show it. */
export function spoken<E>(err: E): E {
  if (err instanceof FdfsError) forClients.add(err);
  return err;
}

/**
 * What a client is told: the code, and either the gateway's own message or the reason and the
 * file id. A non-FdfsError is a bug: its text stays in the log, not the answer.
 */
export function errorBody(err: unknown, fileId?: string): ErrorBody {
  if (!(err instanceof FdfsError)) return { error: { code: 'FDFS_ERR_EIO', message: 'internal error' } };
  if (forClients.has(err)) return { error: { code: err.code, message: err.message } };
  const reason = reasonByErrno[err.status] ?? 'internal error';
  const id = fileId ?? err.fileId;
  return { error: { code: err.code, message: id ? `${id}: ${reason}` : reason } };
}

const said = (status: number, msg: string, fileId?: string) =>
  spoken(new FdfsError(status, msg, fileId ? { fileId } : {}));

/** Shorthands for the errors routes raise themselves; their messages are for the client. */
export const fail = {
  badRequest: (msg: string, fileId?: string) => said(Status.EINVAL, msg, fileId),
  unauthorized: (msg: string) => said(Status.EACCES, msg),
  forbidden: (msg: string, fileId?: string) => said(Status.EPERM, msg, fileId),
  notFound: (msg: string, fileId?: string) => said(Status.ENOENT, msg, fileId),
  tooLarge: (msg: string) => said(Status.EFBIG, msg),
  notEnabled: (msg: string) => said(Status.EOPNOTSUPP, msg),
};
