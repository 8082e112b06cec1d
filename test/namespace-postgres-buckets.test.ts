/**
 * The PostgreSQL store's bucket cache (src/namespace/postgres/bucket-cache.ts): a gateway reads a
 * bucket from the database once while nothing changes it, and sees a change made anywhere (another
 * gateway, plain SQL) within moments, well before the 10 s bound on a cached record's age; when its
 * notices stop it reads from the database again and listens anew.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Namespace, openPgNamespace } from '../src/namespace/index.js';
import { eventually } from './helpers/node-process.js';
import { postgresSkipReason, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { OWNER } from './namespace/fixtures.js';

const skip = postgresSkipReason();
let server: TestPostgres | undefined;
/** Well under the cache's 10 s bound: a change seen within this came by notice. */
const NOTICE_MS = 5_000;

beforeAll(async () => {
  if (!skip) server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: (server as TestPostgres).url() });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** Reads of the buckets table so far (flushed by ended sessions). */
async function bucketReads(schema: string): Promise<number> {
  const rows = await sql<{ n: string }>(
    "SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'buckets'",
    [schema],
  );
  return Number(rows[0]?.n ?? 0);
}

const isPublic = async (ns: Namespace, want: boolean) =>
  eventually(async () => expect((await ns.getBucket('b'))?.public).toBe(want), NOTICE_MS);

describe.skipIf(skip !== undefined)('postgres namespace, bucket cache', () => {
  it('reads a bucket once while nothing changes it, and sees changes made anywhere within moments', async () => {
    const url = (server as TestPostgres).url('cache1');
    const a = await openPgNamespace(url);
    const b = await openPgNamespace(url);
    try {
      await a.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      const c = await openPgNamespace(url);
      await c.getBucket('b');
      await c.close();
      const before = await bucketReads('cache1');
      const reader = await openPgNamespace(url);
      for (let i = 0; i < 100; i++) expect((await reader.getBucket('b'))?.owner).toBe(OWNER);
      await reader.close();
      expect((await bucketReads('cache1')) - before).toBeLessThan(20);

      expect((await b.getBucket('b'))?.public).toBe(false);
      await a.setBucketPublic('b', true);
      // Its own change at once.
      expect((await a.getBucket('b'))?.public).toBe(true);
      await isPublic(b, true);
      // A change by hand (psql, an older fdfs) is announced too.
      await sql('UPDATE cache1.buckets SET public = false');
      await isPublic(b, false);
      await a.deleteBucket('b');
      await eventually(async () => expect(await b.getBucket('b')).toBeUndefined(), NOTICE_MS);
      // A missing bucket is never kept: made elsewhere, it is seen at once.
      await a.createBucket({ name: 'b', owner: 'OTHER', createdAt: 2, public: false });
      expect((await b.getBucket('b'))?.owner).toBe('OTHER');
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('reads from the database when its notices stop, and listens again', async () => {
    const url = (server as TestPostgres).url('cache2');
    const ns = await openPgNamespace(url);
    try {
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      expect((await ns.getBucket('b'))?.public).toBe(false);
      const listeners = async () =>
        (
          await sql<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'fdfs-s3' AND query LIKE 'LISTEN%'",
          )
        ).map((r) => r.pid);
      const [first] = await listeners();
      expect(first).toBeDefined();
      await sql('SELECT pg_terminate_backend($1)', [first]);
      await sql('UPDATE cache2.buckets SET public = true');
      await isPublic(ns, true);
      // Listening again, on a new connection, and noticing.
      await eventually(
        async () => expect((await listeners()).filter((p) => p !== first)).toHaveLength(1),
        NOTICE_MS,
      );
      await sql('UPDATE cache2.buckets SET public = false');
      await isPublic(ns, false);
    } finally {
      await ns.close();
    }
  }, 60_000);
});
