/**
 * The PostgreSQL namespace store: the shared conformance suite against a throwaway cluster (each
 * case in its own schema), then what only this store must show: a delimiter listing that steps over
 * the keys under each common prefix instead of reading them, and a migration that runs once however
 * many gateways start together, refusing a schema newer than the code.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FdfsError, Status } from '../src/common/index.js';
import {
  type Namespace,
  type ObjectRecord,
  openPgNamespace,
  PG_SCHEMA_VERSION,
} from '../src/namespace/index.js';
import { postgresSkipReason, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { namespaceConformance } from './namespace/conformance.js';
import { OWNER, obj } from './namespace/fixtures.js';

const skip = postgresSkipReason();
let server: TestPostgres | undefined;
let schemas = 0;
const freshSchema = () => `t${++schemas}`;
const urlOf = (schema: string) => (server as TestPostgres).url(schema);

beforeAll(async () => {
  // Function calls counted, so a test can tell which path a batch of writes took.
  if (!skip) server = await startPostgres({ settings: ['track_functions=all'] });
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

/** A plain client on the test cluster, to look behind the store. */
async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: (server as TestPostgres).url() });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** Index entries read through the objects table's primary key so far (flushed by ended sessions). */
async function indexReads(schema: string): Promise<number> {
  const rows = await sql<{ n: string }>(
    "SELECT idx_tup_read AS n FROM pg_stat_user_indexes WHERE schemaname = $1 AND indexrelname = 'objects_pkey'",
    [schema],
  );
  return Number(rows[0]?.n ?? 0);
}

describe.skipIf(skip !== undefined)('postgres namespace', () => {
  namespaceConformance('postgres', {
    async fresh(opts = {}) {
      const url = urlOf(freshSchema());
      let ns = await openPgNamespace(url, opts);
      return {
        ns,
        async reopen() {
          await ns.close();
          ns = await openPgNamespace(url, opts);
          return ns;
        },
      };
    },
  });

  it('lists with a delimiter by skipping each common prefix, not reading the keys under it', async () => {
    const schema = freshSchema();
    const ns = await openPgNamespace(urlOf(schema));
    await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
    // 3 × 2,000 keys under three prefixes, a few beside them: written straight into the table.
    const rec = obj('b', 'x');
    await sql(
      `INSERT INTO ${schema}.objects (bucket, key, parts, size, etag, last_modified, content_type, headers, meta)
       SELECT 'b', d || '/' || lpad(i::text, 5, '0'), $1, 5, 'e', 1, 'text/plain', '{}', '{}'
       FROM unnest(ARRAY['big', 'huge', 'vast']) AS d, generate_series(1, 2000) AS i`,
      [JSON.stringify(rec.parts)],
    );
    for (const k of ['a', 'big', 'c', 'zz']) await ns.putObject(obj('b', k));
    await ns.close();
    await sql(`ANALYZE ${schema}.objects`);
    const before = await indexReads(schema);

    const lister = await openPgNamespace(urlOf(schema));
    const page = await lister.listObjects('b', { delimiter: '/', maxKeys: 1000 });
    expect(page.prefixes).toEqual(['big/', 'huge/', 'vast/']);
    expect(page.objects.map((o) => o.key)).toEqual(['a', 'big', 'c', 'zz']);
    const second = await lister.listObjects('b', { delimiter: '/', maxKeys: 2, after: 'big/' });
    expect([...second.objects.map((o) => o.key), ...second.prefixes]).toEqual(['c', 'huge/']);
    await lister.close();
    // The session's counters reach the shared statistics when it ends.
    let reads = 0;
    for (let i = 0; i < 100 && reads === 0; i++) {
      reads = (await indexReads(schema)) - before;
      if (reads === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(reads).toBeGreaterThan(0);
    // About one probe per entry (and per step of the recursion), against 6,000 keys beneath.
    expect(reads).toBeLessThan(60);
  });

  it('commits writes that arrive together in one transaction; one the database refuses fails alone', async () => {
    const schema = freshSchema();
    const ns = await openPgNamespace(urlOf(schema));
    await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
    const commits = async () =>
      Number(
        (
          await sql<{ n: string }>("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = 'postgres'")
        )[0]?.n,
      );
    const before = await commits();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => ns.putObject(obj('b', `k${i}`)).catch((e: unknown) => e)),
    );
    expect(answers).toEqual(Array(100).fill('ok'));
    // A session's counters reach pg_stat_database when it ends.
    await ns.close();
    expect((await commits()) - before).toBeLessThan(50);

    const again = await openPgNamespace(urlOf(schema));
    const mixed = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => again.putObject(obj('b', `m${i}`))),
      again.putObject(obj('b', 'bad', { meta: { x: 'a\u0000b' } })).catch((e: unknown) => e),
      ...Array.from({ length: 20 }, (_, i) => again.putObject(obj('b', `n${i}`))),
    ]);
    expect(mixed.filter((r) => r === 'ok')).toHaveLength(40);
    expect((mixed[20] as FdfsError).detail).toBe('InvalidArgument');
    expect(await again.getObject('b', 'bad')).toBeUndefined();
    expect((await again.listObjects('b', { maxKeys: 1000 })).objects).toHaveLength(140);
    await again.close();
  }, 30_000);

  it('writes a batch of new keys of new files in two inserts; any other batch key by key, each answered as alone', async () => {
    const schema = freshSchema();
    /**
     * put_object's calls so far. A session's counters reach the shared statistics as its server
     * process exits, which may be a moment after the client closed: read until `want` shows, or
     * give the last reading after 5 s.
     */
    const calls = async (want: number) => {
      let n = 0;
      for (let i = 0; i < 100; i++) {
        const rows = await sql<{ n: string }>(
          "SELECT calls AS n FROM pg_stat_user_functions WHERE schemaname = $1 AND funcname = 'put_object'",
          [schema],
        );
        n = Number(rows[0]?.n ?? 0);
        if (n === want) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return n;
    };
    const first = await openPgNamespace(urlOf(schema));
    await first.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
    await first.createBucket({ name: 'gone', owner: OWNER, createdAt: 1, public: false });
    /** The first write goes alone; the others arrive while it runs and share the next statement. */
    const burst = (ns: Namespace, recs: ObjectRecord[]) =>
      Promise.all(recs.map((r) => ns.putObject(r).catch((e: unknown) => e)));
    const fresh = Array.from({ length: 30 }, (_, i) => obj('b', `new${i}`));
    expect(await burst(first, fresh)).toEqual(Array(30).fill('ok'));
    // Only the lone first write went through put_object.
    await first.close();
    expect(await calls(1)).toBe(1);

    const ns = await openPgNamespace(urlOf(schema));
    const fileOf = (r: ObjectRecord) => r.parts[0]?.fileId as string;
    const refs = async (r: ObjectRecord) =>
      (await sql<{ n: number }>(`SELECT n FROM ${schema}.refs WHERE file_id = $1`, [fileOf(r)]))[0]?.n;
    const queued = async () => new Set((await ns.takeGarbage(100)).map((g) => g.fileId));
    // A key already there: overwritten, its old file queued.
    const over = obj('b', 'new3');
    expect(await burst(ns, [obj('b', 'l1'), obj('b', 'o1'), over, obj('b', 'o2')])).toEqual(
      Array(4).fill('ok'),
    );
    expect(fileOf((await ns.getObject('b', 'new3')) as ObjectRecord)).toBe(fileOf(over));
    // A key twice: the later one wins, the earlier one's file is queued.
    const [twiceA, twiceB] = [obj('b', 'twice'), obj('b', 'twice')];
    expect(await burst(ns, [obj('b', 'l2'), twiceA, obj('b', 't1'), twiceB])).toEqual(Array(4).fill('ok'));
    expect(fileOf((await ns.getObject('b', 'twice')) as ObjectRecord)).toBe(fileOf(twiceB));
    expect(await queued()).toEqual(new Set([fileOf(fresh[3] as ObjectRecord), fileOf(twiceA)]));
    // A file the namespace knows already (the insert of its counter fails): counted twice.
    const again = obj('b', 's2', { parts: over.parts });
    expect(await burst(ns, [obj('b', 'l3'), obj('b', 's1'), again, obj('b', 's3')])).toEqual(
      Array(4).fill('ok'),
    );
    expect(await refs(over)).toBe(2);
    // A bucket deleted (its foreign key fails the insert): that write alone answers no-bucket.
    expect(await ns.deleteBucket('gone')).toBe('deleted');
    const lost = obj('gone', 'g2');
    expect(await burst(ns, [obj('b', 'l4'), obj('b', 'g1'), lost, obj('b', 'g3')])).toEqual([
      'ok',
      'ok',
      'no-bucket',
      'ok',
    ]);
    expect(await refs(lost)).toBeUndefined();
    expect((await ns.listObjects('b', { maxKeys: 1000 })).objects).toHaveLength(30 + 2 + 2 + 3 + 3 + 3);
    await ns.close();
    // Each of those four bursts: its lone first write, then its other three through put_object.
    expect(await calls(1 + 4 * (1 + 3))).toBe(1 + 4 * (1 + 3));
  });

  it('migrates once when many gateways start at once, and refuses a newer schema', async () => {
    const schema = freshSchema();
    const opened: Namespace[] = await Promise.all(
      Array.from({ length: 8 }, () => openPgNamespace(urlOf(schema))),
    );
    expect(await sql(`SELECT version FROM ${schema}.version`)).toEqual([{ version: PG_SCHEMA_VERSION }]);
    await opened[0]?.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
    expect((await opened[7]?.getBucket('b'))?.owner).toBe(OWNER);
    await Promise.all(opened.map((ns) => ns.close()));

    // A database left at version 1 (before borrowed files and the write functions): the next start
    // migrates it, data kept.
    await sql(
      `DROP TRIGGER buckets_changed ON ${schema}.buckets;
       DROP FUNCTION ${schema}.bucket_changed, ${schema}.put_objects, ${schema}.put_object, ${schema}.delete_object,
         ${schema}.apply_refs, ${schema}.part_ids, ${schema}.record_intents;
       ALTER TABLE ${schema}.refs DROP COLUMN borrowed; UPDATE ${schema}.version SET version = 1`,
    );
    const again = await openPgNamespace(urlOf(schema));
    expect(await sql(`SELECT version FROM ${schema}.version`)).toEqual([{ version: PG_SCHEMA_VERSION }]);
    expect((await again.getBucket('b'))?.owner).toBe(OWNER);
    const a = obj('b', 'a', {
      parts: [{ fileId: 'group1/M00/00/00/borrowed.bin', size: 5, borrowed: true }],
    });
    expect(await again.putObject(a)).toBe('ok');
    await again.deleteObject('b', 'a');
    expect(await again.takeGarbage(10)).toEqual([]);

    // What PostgreSQL text cannot hold is the client's error, not the server's.
    const nul = await again.putObject(obj('b', 'a\u0000b')).catch((e: unknown) => e);
    expect((nul as FdfsError).detail).toBe('InvalidArgument');
    await again.close();
    const badSchema = await openPgNamespace(urlOf('x"; DROP')).catch((e: unknown) => e);
    expect((badSchema as FdfsError).status).toBe(Status.EINVAL);

    await sql(`UPDATE ${schema}.version SET version = 99`);
    const err = await openPgNamespace(urlOf(schema)).catch((e: unknown) => e);
    expect(String(err)).toMatch(/version 99, newer than this fdfs/);
  });
});
