/** Idle connections kept per host:port so each request does not pay a TCP handshake. */
import { FdfsError, type Logger, Status, silentLogger } from '../common/index.js';
import type { HostPort } from '../config/types.js';
import { whileArmed } from './call.js';
import { Connection, isStatusReply } from './connection.js';

export interface PoolOptions {
  readonly connectTimeout: number;
  readonly networkTimeout: number;
  /** An idle connection older than this (ms) is closed (`connection_pool_max_idle_time`). */
  readonly maxIdleTime: number;
  /** `use_connection_pool`; when false every connection is closed after one use. Default true. */
  readonly enabled?: boolean;
  readonly localAddress?: string;
  readonly logger?: Logger;
}

export interface UseOptions {
  /**
   * Retry once on a new connection when a reused one fails in transport before any reply: the
   * server may have closed it while idle. Only for requests that can be sent again.
   */
  readonly retryStale?: boolean;
  /** Firing while the request runs destroys its connection (the call then fails); no retry after. */
  readonly signal?: AbortSignal;
}

/**
 * A reused link that the peer had already closed fails with a reset or a broken pipe before any
 * reply. A timeout is not that: the request may be running, so it is never sent again.
 */
function looksStale(err: unknown): boolean {
  if (isStatusReply(err)) return false;
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof FdfsError && e.status === Status.ECONNRESET) return true;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'EPIPE') return true;
  }
  return false;
}

export function peerKey(target: HostPort): string {
  return `${target.host}:${target.port}`;
}

export class ConnectionPool {
  private readonly idle = new Map<string, Connection[]>();
  /** Per idle connection: its max-idle timer and the hook that evicts it if its socket closes. */
  private readonly watches = new Map<Connection, { timer: NodeJS.Timeout; onClose: () => void }>();
  private readonly active = new Set<Connection>();
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    this.log = opts.logger ?? silentLogger;
  }

  /** A usable connection to `target`: the most recently idled one, else a new one. */
  async acquire(target: HostPort, opts: { fresh?: boolean; signal?: AbortSignal } = {}): Promise<Connection> {
    if (this.closed)
      throw new FdfsError(Status.EINVAL, `connection pool is closed (wanted ${peerKey(target)})`);
    const list = this.idle.get(peerKey(target));
    while (!opts.fresh && list && list.length > 0) {
      const conn = list.pop() as Connection;
      this.forget(conn);
      if (conn.usable && !conn.busy) {
        conn.unpark();
        this.active.add(conn);
        return conn;
      }
      conn.close();
    }
    const conn = await Connection.open(
      {
        host: target.host,
        port: target.port,
        connectTimeout: this.opts.connectTimeout,
        networkTimeout: this.opts.networkTimeout,
        ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
      },
      opts.signal,
    );
    if (this.closed) {
      conn.close();
      throw new FdfsError(Status.EINVAL, `connection pool is closed (wanted ${peerKey(target)})`);
    }
    this.active.add(conn);
    return conn;
  }

  /** Gives a connection back. A broken one, or one with an unread response, is closed instead. */
  release(conn: Connection): void {
    if (!this.active.delete(conn)) return;
    if (this.closed || this.opts.enabled === false || !conn.usable || conn.busy) {
      this.closeConn(conn);
      return;
    }
    const key = conn.peer;
    let list = this.idle.get(key);
    if (!list) {
      list = [];
      this.idle.set(key, list);
    }
    list.push(conn);
    const timer = setTimeout(() => this.evict(conn), this.opts.maxIdleTime);
    timer.unref();
    const onClose = () => this.evict(conn);
    conn.socket.once('close', onClose);
    this.watches.set(conn, { timer, onClose });
    conn.park();
  }

  /** Drops a connection that must not be reused. */
  destroy(conn: Connection): void {
    this.active.delete(conn);
    conn.destroy();
  }

  /**
   * Runs `fn` on a pooled connection and leaves it checked out on success (the caller releases
   * it later, e.g. once a download body is read). On failure it is released, which drops it if
   * `fn` left it broken or mid-response.
   */
  async checkout<T>(
    target: HostPort,
    fn: (conn: Connection) => Promise<T>,
    opts: UseOptions = {},
  ): Promise<{ conn: Connection; value: T }> {
    const { signal } = opts;
    if (signal?.aborted) {
      throw new FdfsError(Status.ECANCELED, `request to ${peerKey(target)} aborted`, {
        cause: signal.reason,
      });
    }
    const armed = (c: Connection) =>
      whileArmed(
        signal,
        () => c.destroy(),
        () => fn(c),
      );
    const conn = await this.acquire(target, signal ? { signal } : {});
    const reused = conn.requests > 0;
    try {
      return { conn, value: await armed(conn) };
    } catch (err) {
      this.release(conn);
      if (signal?.aborted || !(opts.retryStale && reused && !conn.usable && looksStale(err))) throw err;
      this.log.debug('pooled connection was stale, retrying on a new one', { peer: conn.peer, err });
    }
    const fresh = await this.acquire(target, signal ? { fresh: true, signal } : { fresh: true });
    try {
      return { conn: fresh, value: await armed(fresh) };
    } catch (err) {
      this.release(fresh);
      throw err;
    }
  }

  /** Runs `fn` on a pooled connection and gives the connection back afterwards. */
  async use<T>(target: HostPort, fn: (conn: Connection) => Promise<T>, opts: UseOptions = {}): Promise<T> {
    const { conn, value } = await this.checkout(target, fn, opts);
    this.release(conn);
    return value;
  }

  get stats(): { idle: number; active: number } {
    let idle = 0;
    for (const list of this.idle.values()) idle += list.length;
    return { idle, active: this.active.size };
  }

  /** Ends every connection, idle and in use; later acquires fail. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const conn of list) this.closeConn(conn);
    this.idle.clear();
    for (const conn of this.active) conn.destroy();
    this.active.clear();
  }

  private evict(conn: Connection): void {
    const list = this.idle.get(conn.peer);
    const i = list?.indexOf(conn) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
    if (list && list.length === 0) this.idle.delete(conn.peer);
    this.closeConn(conn);
  }

  private forget(conn: Connection): void {
    const watch = this.watches.get(conn);
    if (!watch) return;
    clearTimeout(watch.timer);
    conn.socket.off('close', watch.onClose);
    this.watches.delete(conn);
  }

  private closeConn(conn: Connection): void {
    this.forget(conn);
    conn.close();
  }
}
