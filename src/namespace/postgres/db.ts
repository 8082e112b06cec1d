/**
 * The connection pool of the PostgreSQL store and the transaction every verb runs in: retried on
 * the conflicts PostgreSQL resolves by aborting one side (deadlock, serialization, a row inserted
 * by a racing writer), and every database failure turned into an FdfsError. A database that cannot
 * be reached answers ServiceUnavailable, so S3 clients back off and retry; nothing is half-written
 * because a transaction that did not commit leaves no trace.
 */
import pg from 'pg';
import { FdfsError, type Logger, Status } from '../../common/index.js';

export type Sql = pg.PoolClient;

export interface PgStore {
  readonly pool: pg.Pool;
  readonly now: () => number;
  readonly completedTtlMs: number;
}

/** Thrown inside a transaction to run it again from the start (a racing insert won). */
export class Retry extends Error {}

/** Thrown inside a transaction to roll it back and still answer `value`. */
export class Rollback<T> extends Error {
  constructor(readonly value: T) {
    super('rolled back');
  }
}

const causeCode = (err: unknown) => (err as { cause?: { code?: unknown } } | null)?.cause?.code;

/** A row named a parent that is gone (a bucket, an upload): the foreign key refused it. */
export function missingParent(err: unknown): boolean {
  return causeCode(err) === '23503';
}

/** put_object refused a requireUnknown file after writing (functions.ts): all rolled back. */
export function refusedClaim(err: unknown): boolean {
  return causeCode(err) === 'FDPF1';
}

/**
 * The server refused the statement for what it holds (an error answer, not a lost connection or a
 * server going away): its transaction rolled back whole, so running its parts again is safe.
 */
export function refusedStatement(err: unknown): boolean {
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (!(cause instanceof pg.DatabaseError)) return false;
  const code = cause.code ?? '';
  return !UNAVAILABLE_CLASSES.some((c) => code.startsWith(c)) && !RETRYABLE.has(code);
}

/** SQLSTATEs after which the same transaction, run again, can succeed. */
const RETRYABLE = new Set(['40001', '40P01']);
/** SQLSTATE classes (and codes) meaning the server is gone, going, or not yet there. */
const UNAVAILABLE_CLASSES = ['08', '57'];
const UNAVAILABLE_NODE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);
const MAX_TRIES = 20;

// int8 (counts, sizes, times, sequence numbers) as numbers: every value we store is below 2^53.
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

export interface PoolOptions {
  readonly url: string;
  readonly schema: string;
  readonly max: number;
  readonly connectTimeoutMs: number;
  /** Longest a statement may run or wait on a lock; past it the server cancels it. */
  readonly statementTimeoutMs: number;
  readonly logger: Logger;
}

/** Settings of every connection of the store (the pool's, the bucket notices'). */
export function clientConfig(o: PoolOptions): pg.ClientConfig {
  return {
    connectionString: o.url,
    connectionTimeoutMillis: o.connectTimeoutMs,
    // Every statement names its tables bare: they live in the store's own schema.
    options: `-c search_path=${quoteIdent(o.schema)}`,
    application_name: 'fdfs-s3',
    // A statement stuck behind a lock someone holds, or on a server that stalls, is cancelled
    // (57014, answered ServiceUnavailable) rather than holding the S3 request and its connection
    // for good.
    statement_timeout: o.statementTimeoutMs,
    // A database host that vanished (no reset) is noticed on idle connections too.
    keepAlive: true,
    types,
  };
}

export function openPool(o: PoolOptions): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(o), max: o.max, idleTimeoutMillis: 30_000 });
  // An idle connection the server dropped (a restart) must not crash the process: the pool
  // forgets it and the next request opens a new one.
  pool.on('error', (err) => o.logger.warn('namespace database connection lost', { err: describe(err) }));
  return pool;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The error without connection details: host names and ports stay in the log only. */
function describe(err: unknown): string {
  const code = sqlState(err);
  return `${code ?? 'error'}: ${(err as Error | null)?.message ?? String(err)}`;
}

function isUnavailable(err: unknown): boolean {
  const code = sqlState(err);
  if (code && (UNAVAILABLE_NODE.has(code) || UNAVAILABLE_CLASSES.some((c) => code.startsWith(c))))
    return true;
  const msg = (err as Error | null)?.message ?? '';
  // node-postgres reports a dropped socket and a connect timeout without a code.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
    msg,
  );
}

/** Any failure of the database as an FdfsError (an FdfsError raised by a verb passes through). */
export function dbError(err: unknown): FdfsError {
  if (err instanceof FdfsError) return err;
  if (isUnavailable(err)) {
    return new FdfsError(Status.EAGAIN, 'The namespace database is unavailable; please retry.', {
      cause: err,
      detail: 'ServiceUnavailable',
    });
  }
  // A key or value holding U+0000, which PostgreSQL text cannot store.
  if (sqlState(err) === '22021' || sqlState(err) === '22P05') {
    return new FdfsError(Status.EINVAL, 'Names and values cannot hold the character U+0000.', {
      cause: err,
      detail: 'InvalidArgument',
    });
  }
  return new FdfsError(Status.EIO, `namespace database error ${describe(err)}`, { cause: err });
}

/** One statement outside a transaction (reads see the last committed state). */
export async function query<R extends pg.QueryResultRow>(
  s: PgStore,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  try {
    return (await s.pool.query<R>(text, values)).rows;
  } catch (err) {
    throw dbError(err);
  }
}

/** One statement in its own transaction, run again after a deadlock or serialization failure. */
export async function statement<R extends pg.QueryResultRow>(
  s: PgStore,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await s.pool.query<R>(text, values)).rows;
    } catch (err) {
      if (!RETRYABLE.has(sqlState(err) ?? '') || attempt >= MAX_TRIES) throw dbError(err);
    }
  }
}

/**
 * Runs `fn` in one READ COMMITTED transaction and resolves once it has committed (durable: the
 * server's synchronous_commit). Row locks taken by `fn` (SELECT … FOR UPDATE) order racing writers.
 */
export async function tx<T>(s: PgStore, fn: (c: Sql) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let c: Sql;
    try {
      c = await s.pool.connect();
    } catch (err) {
      throw dbError(err);
    }
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      if (err instanceof Rollback) return err.value as T;
      const again = err instanceof Retry || RETRYABLE.has(sqlState(err) ?? '');
      if (!again || attempt >= MAX_TRIES) throw dbError(err);
    } finally {
      c.release(broken);
    }
  }
}
