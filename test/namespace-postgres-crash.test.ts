/**
 * What the PostgreSQL store keeps when the database server itself crashes (every server process
 * killed at once: WAL not yet out of the server's buffers is lost). Upload intents commit without
 * waiting for their WAL flush (refs.ts); a key commits with it. The cluster runs with fsync on and
 * a WAL writer that waits 10 s between flushes, so a commit that did not wait for its own flush is
 * still in the buffers when the crash comes.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgNamespace } from '../src/namespace/index.js';
import { postgresSkipReason, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { OWNER, obj } from './namespace/fixtures.js';

const skip = postgresSkipReason();
let server: TestPostgres | undefined;

beforeAll(async () => {
  if (!skip) server = await startPostgres({ durable: true, settings: ['wal_writer_delay=10000'] });
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

describe.skipIf(skip !== undefined)('postgres namespace, database crash', () => {
  it('keeps every answered PutObject and every intent recorded before it', async () => {
    const db = server as TestPostgres;
    const url = db.url('crash');
    // Few connections, so intents and keys share them: an intent's setting must not outlive its commit.
    const ns = await openPgNamespace(url, { maxConnections: 2 });
    await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
    const N = 60;
    for (let i = 0; i < N; i++) {
      await ns.recordIntent({ group: 'group1', size: i, crc32: i, at: 1000 + i });
      expect(await ns.putObject(obj('b', `k${i}`))).toBe('ok');
    }
    await db.crash();
    await ns.close();
    await db.resume();
    const after = await openPgNamespace(url);
    try {
      const lost: string[] = [];
      for (let i = 0; i < N; i++) if (!(await after.getObject('b', `k${i}`))) lost.push(`k${i}`);
      expect(lost).toEqual([]);
      // WAL is one ordered log: a key's flush carries every intent committed before it.
      expect((await after.listIntents(1000)).map((i) => i.size)).toEqual([...Array(N).keys()]);
    } finally {
      await after.close();
    }
  }, 120_000);
});

describe.skipIf(skip !== undefined)('postgres namespace, a statement that cannot finish', () => {
  it('answers ServiceUnavailable past the statement timeout (a lock held elsewhere), and works once it is gone', async () => {
    const db = server as TestPostgres;
    const url = db.url('stuck');
    const ns = await openPgNamespace(url, { statementTimeoutMs: 300 });
    const holder = new pg.Client({ connectionString: db.url() });
    await holder.connect();
    try {
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      expect(await ns.putObject(obj('b', 'before'))).toBe('ok');
      // Another session (a stuck admin, a long report) holds the table.
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE stuck.objects IN ACCESS EXCLUSIVE MODE');
      await expect(ns.putObject(obj('b', 'during'))).rejects.toMatchObject({
        code: 'FDFS_ERR_EAGAIN',
        detail: 'ServiceUnavailable',
      });
      await expect(ns.getObject('b', 'before')).rejects.toMatchObject({ detail: 'ServiceUnavailable' });
      await holder.query('ROLLBACK');
      expect(await ns.putObject(obj('b', 'after'))).toBe('ok');
      expect(await ns.getObject('b', 'during')).toBeUndefined();
      expect((await ns.getObject('b', 'before'))?.key).toBe('before');
    } finally {
      await holder.end();
      await ns.close();
    }
  }, 60_000);
});
