/** Client error messages: what was attempted, on which file, at which server, and the errno. */
import { FdfsError, Status, statusName, toStatus } from '../common/index.js';
import { isStatusReply } from './connection.js';

const descriptions: Partial<Record<number, string>> = {
  [Status.EPERM]: 'operation not permitted',
  [Status.EIO]: 'I/O error',
  [Status.EAGAIN]: 'try again',
  [Status.ENOMEM]: 'out of memory',
  [Status.EACCES]: 'permission denied',
  [Status.EBUSY]: 'busy',
  [Status.EEXIST]: 'already exists',
  [Status.EISDIR]: 'not a regular file',
  [Status.EINVAL]: 'invalid argument',
  [Status.ENOSPC]: 'no space left',
  [Status.ENAMETOOLONG]: 'name too long',
  [Status.EOPNOTSUPP]: 'not supported',
  [Status.ECONNRESET]: 'connection reset',
  [Status.ETIMEDOUT]: 'timed out',
  [Status.ECONNREFUSED]: 'connection refused',
  [Status.EALREADY]: 'already done',
  [Status.ECANCELED]: 'canceled',
};

/** `ENOENT (file not found)`; what ENOENT means depends on who says it, hence `notFound`. */
export function describeStatus(status: number, notFound = 'file not found'): string {
  const text = status === Status.ENOENT ? notFound : descriptions[status];
  return text ? `${statusName(status)} (${text})` : statusName(status);
}

export interface ErrorContext {
  /** The attempted action including its object, e.g. `download group1/M00/00/00/x.png`. */
  readonly action: string;
  /** `from 127.0.0.1:23000`, `on tracker 127.0.0.1:22122`, … */
  readonly where?: string;
  readonly fileId?: string;
  readonly peer?: string;
  readonly notFound?: string;
}

/**
 * Re-throws `err` as an FdfsError whose message names the action, file and server. The status
 * and the original error (as `cause`) are kept, so retry decisions still see a status reply.
 */
export function withContext(err: unknown, ctx: ErrorContext): FdfsError {
  const status = toStatus(err) || Status.EIO;
  const peer = ctx.peer ?? (err instanceof FdfsError ? err.peer : undefined);
  const where = ctx.where ?? (peer ? `on ${peer}` : '');
  const head = where ? `${ctx.action} ${where}` : ctx.action;
  let message = `${head}: ${describeStatus(status, ctx.notFound)}`;
  // A transport or local failure carries its own detail; a status reply has nothing to add.
  if (!isStatusReply(err) && err instanceof Error) message += `: ${err.message}`;
  const fileId = ctx.fileId ?? (err instanceof FdfsError ? err.fileId : undefined);
  return new FdfsError(status, message, {
    cause: err,
    ...(peer === undefined ? {} : { peer }),
    ...(fileId === undefined ? {} : { fileId }),
  });
}
