/**
 * FastDFS puts Linux errno values on the wire as the status byte. These are the Linux numbers,
 * never the host's os.constants, so a node on another OS still answers what clients expect.
 */
export const Status = {
  OK: 0,
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ENAMETOOLONG: 36,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EALREADY: 114,
  /** A client call its caller aborted (AbortSignal); never on the wire. */
  ECANCELED: 125,
  /** Not a medium we can read: the gateway's answer to an image variant of a non-image (415). */
  EMEDIUMTYPE: 124,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

const statusNames = new Map<number, string>(Object.entries(Status).map(([k, v]) => [v, k]));

/** Name of an errno value as FastDFS tools print it, e.g. 2 → "ENOENT". */
export function statusName(status: number): string {
  return statusNames.get(status) ?? `E${status}`;
}

export interface FdfsErrorOptions {
  cause?: unknown;
  peer?: string;
  fileId?: string;
  /**
   * A stable name for the case within its errno, for front ends whose protocol tells more cases
   * apart than errno does (S3: NoSuchBucket, NoSuchKey and NoSuchUpload are all ENOENT).
   */
  detail?: string;
}

/**
 * The one error class of the project. `status` is the errno sent or received on the wire,
 * `code` a stable string (`FDFS_ERR_ENOENT`) that callers switch on instead of message text.
 */
export class FdfsError extends Error {
  override readonly name = 'FdfsError';
  readonly status: number;
  readonly code: string;
  readonly peer: string | undefined;
  readonly fileId: string | undefined;
  readonly detail: string | undefined;

  constructor(status: number, message: string, options: FdfsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = `FDFS_ERR_${statusName(status)}`;
    this.peer = options.peer;
    this.fileId = options.fileId;
    this.detail = options.detail;
  }
}

export function isFdfsError(err: unknown, status?: number): err is FdfsError {
  return err instanceof FdfsError && (status === undefined || err.status === status);
}

/** Maps any thrown value (fs errors included) to the errno to put on the wire. */
export function toStatus(err: unknown): number {
  if (err instanceof FdfsError) return err.status;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in Status) return Status[code as keyof typeof Status];
  return Status.EIO;
}
