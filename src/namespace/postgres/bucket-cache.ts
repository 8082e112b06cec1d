/**
 * Bucket records kept by one gateway, so a request does not pay a round trip to PostgreSQL for its
 * bucket before its own work. They are kept true by the database: a trigger on `buckets`
 * (migration 6) notifies channel fdfs_s3_buckets with `schema/name` on every insert, update and
 * delete, whoever makes it (another gateway, an older fdfs, psql), and one connection of this
 * gateway listens and drops the name. Records are kept only while that connection listens: before
 * it is up, and from its failure until it is up again, the cache is empty and every read goes to
 * the database. A read that raced a change (its answer may predate it) is not kept.
 *
 * What another gateway can see late: a bucket deleted or made private, for as long as the notice
 * takes to arrive (about a round trip; at most MAX_AGE_MS). This gateway's own changes are seen at
 * once, and a missing bucket is never kept, so a bucket made anywhere is seen at once. Objects are
 * never cached here.
 */
import pg from 'pg';
import type { Logger } from '../../common/index.js';
import type { BucketRecord } from '../types.js';

export const BUCKET_CHANNEL = 'fdfs_s3_buckets';
/** A bound on staleness should a notice ever be lost without the connection failing. */
const MAX_AGE_MS = 10_000;
const RETRY_MS = 1_000;

export interface BucketCacheOptions {
  /** Connection settings of the listening connection (the pool's). */
  readonly client: pg.ClientConfig;
  readonly schema: string;
  readonly logger: Logger;
  readonly now: () => number;
}

export class BucketCache {
  private readonly entries = new Map<string, { readonly rec: BucketRecord; readonly at: number }>();
  /** Bumped by every drop: a read begun before one is not kept. */
  private generation = 0;
  private listener: pg.Client | undefined;
  private listening = false;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: BucketCacheOptions) {}

  /**
   * Starts listening; resolves once listening or failed. A failure only leaves the cache off
   * (retried every second); it never rejects.
   */
  start(): Promise<void> {
    if (this.closed || this.listener) return Promise.resolve();
    const c = new pg.Client(this.o.client);
    this.listener = c;
    const lost = (err?: unknown) => {
      if (this.listener !== c) return;
      this.listener = undefined;
      // Said once when notices stop, not at every retry while the database is away.
      if (this.listening) this.o.logger.warn('bucket notices lost; bucket reads go to the database', { err });
      this.off();
      c.end().catch(() => {});
      if (!this.closed) {
        this.retry = setTimeout(() => void this.start(), RETRY_MS);
        this.retry.unref();
      }
    };
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', (n) => {
      const payload = n.payload ?? '';
      const slash = payload.indexOf('/');
      if (payload.slice(0, slash) === this.o.schema) this.forget(payload.slice(slash + 1));
    });
    return c
      .connect()
      .then(() => c.query(`LISTEN ${BUCKET_CHANNEL}`))
      .then(() => {
        if (this.listener !== c) return;
        // Anything read before now may have missed a notice.
        this.off();
        this.listening = true;
      })
      .catch(lost);
  }

  /** The bucket, from the cache while it is listening, else from `read` (kept if it raced nothing). */
  async get(name: string, read: () => Promise<BucketRecord | undefined>): Promise<BucketRecord | undefined> {
    const hit = this.entries.get(name);
    if (hit && this.listening && this.o.now() - hit.at < MAX_AGE_MS) return hit.rec;
    const generation = this.generation;
    const at = this.o.now();
    const rec = await read();
    if (rec && this.listening && generation === this.generation) this.entries.set(name, { rec, at });
    return rec;
  }

  /** Drops a bucket changed here or noticed changed elsewhere. */
  forget(name: string): void {
    this.generation++;
    this.entries.delete(name);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const c = this.listener;
    this.listener = undefined;
    this.off();
    await c?.end().catch(() => {});
  }

  private off(): void {
    this.listening = false;
    this.generation++;
    this.entries.clear();
  }
}
