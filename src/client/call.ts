/**
 * AbortSignal and timeout of one client call. A call gets one signal that fires on the caller's
 * abort or when its timeout passes; the pool destroys the connection in use when it fires, and
 * the call answers with one FdfsError: ETIMEDOUT for a timeout, ECANCELED for an abort.
 */
import { FdfsError, Status } from '../common/index.js';

export interface CallOptions {
  /** Aborts the call; a connection in use is dropped and the call rejects with ECANCELED. */
  readonly signal?: AbortSignal;
  /**
   * Milliseconds for the whole call (a download: until its stream ends); then ETIMEDOUT.
   * Default: the client's `timeout`, else none (each wait is still bounded by network_timeout).
   */
  readonly timeout?: number;
}

function reasonOf(reason: unknown): { status: number; text: string } {
  if (reason instanceof FdfsError) return { status: reason.status, text: reason.message };
  // AbortSignal.timeout() aborts with a DOMException named TimeoutError.
  if ((reason as { name?: unknown } | null)?.name === 'TimeoutError') {
    return { status: Status.ETIMEDOUT, text: 'timed out' };
  }
  return { status: Status.ECANCELED, text: 'aborted' };
}

/** The error a call rejects with once `signal` has fired. */
export function abortError(signal: AbortSignal, action: string, fileId?: string): FdfsError {
  const { status, text } = reasonOf(signal.reason);
  return new FdfsError(status, `${action}: ${text}`, {
    cause: signal.reason,
    ...(fileId === undefined ? {} : { fileId }),
  });
}

/** Throws the abort error when `signal` has already fired (before a connection is taken). */
export function throwIfAborted(signal: AbortSignal | undefined, action: string): void {
  if (signal?.aborted) throw abortError(signal, action);
}

export function checkTimeout(timeout: number | undefined, what: string): void {
  if (timeout !== undefined && (!Number.isSafeInteger(timeout) || timeout <= 0)) {
    throw new FdfsError(Status.EINVAL, `${what} must be a positive number of milliseconds, got ${timeout}`);
  }
}

/**
 * One call's signal: the caller's and the timeout's together. end() clears the timer and the
 * listener on the caller's signal, so a long-lived signal passed to many calls does not collect
 * listeners, and a pending timer never outlives its call.
 */
export class CallScope {
  readonly signal: AbortSignal | undefined;
  private readonly ctl: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly outer: AbortSignal | undefined;
  private readonly onOuter = () => this.ctl?.abort(this.outer?.reason);

  constructor(opts: CallOptions, defaultTimeout: number | undefined) {
    const timeout = opts.timeout ?? defaultTimeout;
    checkTimeout(opts.timeout, 'timeout');
    this.outer = opts.signal;
    if (timeout === undefined) {
      this.signal = opts.signal;
      return;
    }
    this.ctl = new AbortController();
    this.signal = this.ctl.signal;
    if (opts.signal?.aborted) {
      this.ctl.abort(opts.signal.reason);
      return;
    }
    opts.signal?.addEventListener('abort', this.onOuter, { once: true });
    const reason = new FdfsError(Status.ETIMEDOUT, `timed out after ${timeout} ms`);
    this.timer = setTimeout(() => this.ctl?.abort(reason), timeout);
    // A pending timeout must not keep a script alive after its work is done.
    this.timer.unref();
  }

  end(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.outer?.removeEventListener('abort', this.onOuter);
  }

  /** What a call that failed with `err` rejects with: the abort error once the signal has fired. */
  failure(err: unknown, action: string, fileId?: string): unknown {
    return this.signal?.aborted ? abortError(this.signal, action, fileId) : err;
  }

  /** Runs `work`, then ends the scope; once the signal has fired, any failure is the abort error. */
  async run<T>(
    action: string,
    fileId: string | undefined,
    work: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    try {
      throwIfAborted(this.signal, action);
      return await work(this.signal);
    } catch (err) {
      throw this.failure(err, action, fileId);
    } finally {
      this.end();
    }
  }
}

/**
 * Runs `fn` and drops `onAbort`'s target (the connection in use) if `signal` fires meanwhile; a
 * destroyed socket fails the pending read or write at once, which ends `fn`.
 */
export async function whileArmed<T>(
  signal: AbortSignal | undefined,
  onAbort: () => void,
  fn: () => Promise<T>,
): Promise<T> {
  if (!signal) return fn();
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
