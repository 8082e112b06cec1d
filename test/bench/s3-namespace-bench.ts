/**
 * The namespace section of `npm run bench`: the same S3 endpoint on the embedded lmdb store and on
 * PostgreSQL (a throwaway cluster with fsync and synchronous commit on, so both stores are durable
 * before they answer). Two `fdfs start` nodes differing only in s3.namespace: PutObject of 4 KB in
 * turns (S3_BENCH_NS_ROUNDS rounds, default 5, the order alternating, presigned before each run,
 * from s3-load.ts; the CPU per PUT of the node and of the database server beside the rates), then
 * ListObjectsV2 pages of 1,000 keys at random start-after and a delimited page of 1,000 common
 * prefixes, one page at a time, from a bucket of S3_BENCH_NS_KEYS keys (default 100,000) in each.
 *
 * bench.ts calls `namespaceSection(seconds)`; `node dist/test/bench/s3-namespace-bench.js` runs it alone.
 */
import { mkdtemp } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Namespace, ObjectRecord } from '../../src/namespace/index.js';
import { openLmdbNamespace, openPgNamespace } from '../../src/namespace/index.js';
import { type RunningNode, startNode, tempDir } from '../helpers/node-process.js';
import { postgresBinDir, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { deferFolderRemoval, removeDeferredFolders, removeFolder } from '../helpers/removal.js';
import { credentialOf, ok, S3Urls } from './s3-bench.js';
import { drive, hasWrk, type Measured } from './s3-load.js';

const ROUNDS = Number(process.env.S3_BENCH_NS_ROUNDS ?? 5);
const CONCURRENCY = [16, 64];
const keyOf = (i: number) => `dir${String(i % 1000).padStart(4, '0')}/file-${String(i).padStart(8, '0')}.dat`;

interface Side {
  readonly name: string;
  /** Whether its namespace is the PostgreSQL server (whose CPU then counts too). */
  readonly usesDb: boolean;
  readonly node: RunningNode;
  readonly s3: S3Urls;
}

function rec(i: number): ObjectRecord {
  return {
    bucket: 'big',
    key: keyOf(i),
    parts: [{ fileId: `group1/M00/00/00/wKgAAmZ${i}AAAAAAAAAAA.bin`, size: 1024 }],
    size: 1024,
    etag: '0123456789abcdef0123456789abcdef',
    lastModified: 1_700_000_000_000 + i,
    contentType: 'application/octet-stream',
    headers: {},
    meta: {},
  };
}

async function fillThrough(ns: Namespace, total: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < total) {
        const i = next++;
        if ((await ns.putObject(rec(i))) !== 'ok') throw new Error(`fill ${i} failed`);
      }
    }),
  );
}

/** The same keys and records as fillThrough, in one statement (a PutObject per key would take long). */
async function fillPostgres(url: string, total: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `INSERT INTO fdfs_s3.objects (bucket, key, parts, size, etag, last_modified, content_type, headers, meta)
       SELECT 'big', 'dir' || lpad((i % 1000)::text, 4, '0') || '/file-' || lpad(i::text, 8, '0') || '.dat',
              jsonb_build_array(jsonb_build_object('fileId', 'group1/M00/00/00/wKgAAmZ' || i || 'AAAAAAAAAAA.bin', 'size', 1024)),
              1024, '0123456789abcdef0123456789abcdef', 1700000000000 + i, 'application/octet-stream', '{}', '{}'
       FROM generate_series(0, $1 - 1) AS i`,
      [total],
    );
    await c.query('ANALYZE fdfs_s3.objects');
  } finally {
    await c.end();
  }
}

const pct = (xs: number[], p: number) =>
  ([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0).toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const rate = (m: Measured) => m.ops / m.seconds;

async function listTimes(side: Side, total: number): Promise<{ plain: number[]; delimited: number[] }> {
  const agent = new Agent({ keepAlive: true });
  const plain: number[] = [];
  const delimited: number[] = [];
  try {
    for (let r = 0; r < 200; r++) {
      const url = await side.s3.url('GET', '/big', {
        'list-type': '2',
        'max-keys': '1000',
        'start-after': keyOf(Math.floor(Math.random() * total)),
      });
      const t = performance.now();
      const body = await ok(agent, { method: 'GET', url });
      plain.push(performance.now() - t);
      if (r === 0 && !body.includes('<Contents>')) throw new Error(`${side.name}: the page has no keys`);
    }
    for (let r = 0; r < 50; r++) {
      const url = await side.s3.url('GET', '/big', { 'list-type': '2', 'max-keys': '1000', delimiter: '/' });
      const t = performance.now();
      const body = await ok(agent, { method: 'GET', url });
      delimited.push(performance.now() - t);
      if (r === 0 && !body.includes('<CommonPrefixes>')) throw new Error(`${side.name}: no common prefixes`);
    }
  } finally {
    agent.destroy();
  }
  return { plain, delimited };
}

/** Presigned PUTs per run: three times the best rate seen so far, and at least 4,000. */
let bestRate = 0;
const targetsFor = (seconds: number) => Math.max(4000, Math.ceil(seconds * bestRate * 3));

interface Round {
  readonly rate: number;
  /** CPU per PUT in µs: the node's, and the database server's (PostgreSQL side only). */
  readonly nodeUs: number | undefined;
  readonly dbUs: number | undefined;
}

const ms = (us: number[]) => (median(us) / 1000).toFixed(1);

/**
 * PutObject 4 KB on each side in turns: a warm-up run each, then ROUNDS rounds, the order
 * alternating so neither side always runs first after the other. On a shared machine the load
 * from other work drifts between runs: the ratio of each round (two runs next to each other in
 * time) is printed beside the ratio of the median rates, and the CPU per PUT (node plus database
 * server), which drifts much less than the rate.
 */
async function putRates(sides: readonly Side[], db: TestPostgres, seconds: number): Promise<string[]> {
  const body = Buffer.alloc(4 * 1024, 0x63);
  const wrk = await hasWrk();
  const dir = await mkdtemp(join(tmpdir(), 'fdfs-ns-bench-'));
  const lines: string[] = [];
  let batch = 0;
  try {
    for (const c of CONCURRENCY) {
      const rounds = new Map<string, Round[]>(sides.map((s) => [s.name, []]));
      const once = async (side: Side, secs: number): Promise<Round> => {
        const b = batch++;
        const targets: string[] = [];
        for (let i = 0; i < targetsFor(secs); i++)
          targets.push(await side.s3.target('PUT', `/put/p-${b}-${i}.bin`));
        const origin = `http://${side.node.s3.host}:${side.node.s3.port}`;
        const load = { method: 'PUT' as const, origin, targets, body };
        const db0 = side.usesDb ? await db.cpuSeconds() : undefined;
        const m = await drive(load, c, secs, {
          wrk,
          dir,
          name: `${side.name}-${b}`,
          pid: side.node.child.pid,
        });
        const db1 = side.usesDb ? await db.cpuSeconds() : undefined;
        bestRate = Math.max(bestRate, rate(m));
        const dbUs =
          db0 === undefined || db1 === undefined || m.ops === 0 ? undefined : ((db1 - db0) * 1e6) / m.ops;
        return { rate: rate(m), nodeUs: m.cpuUs, dbUs };
      };
      for (const s of sides) await once(s, 1);
      for (let r = 0; r < ROUNDS; r++) {
        for (const s of r % 2 ? [...sides].reverse() : sides)
          rounds.get(s.name)?.push(await once(s, seconds));
      }
      const [l, p] = sides.map((s) => rounds.get(s.name) ?? []) as [Round[], Round[]];
      const lmdb = median(l.map((x) => x.rate));
      const postgres = median(p.map((x) => x.rate));
      const perRound = l.map((x, i) => ((p[i]?.rate ?? 0) / (x.rate || 1)).toFixed(2)).join(' ');
      const cpu = (xs: Round[], k: 'nodeUs' | 'dbUs') =>
        xs.flatMap((x) => (x[k] === undefined ? [] : [x[k]]));
      lines.push(
        `PutObject 4 KB, ${c} conn: lmdb ${Math.round(lmdb)}/s, PostgreSQL ${Math.round(postgres)}/s, ` +
          `ratio ${(postgres / (lmdb || 1)).toFixed(2)} (aim ≥ 0.7; medians of ${ROUNDS} rounds in turns; ` +
          `each round: ${perRound})`,
        `  CPU per PUT: lmdb node ${ms(cpu(l, 'nodeUs'))} ms; PostgreSQL node ${ms(cpu(p, 'nodeUs'))} ms + ` +
          `server ${ms(cpu(p, 'dbUs'))} ms`,
      );
    }
  } finally {
    await removeFolder(dir);
  }
  return lines;
}

/** The printed namespace section, or a line saying why it was skipped. */
export async function namespaceSection(seconds: number): Promise<string> {
  if (!postgresBinDir()) return 'S3 namespace lmdb vs PostgreSQL: skipped (no PostgreSQL server binaries)';
  const total = Number(process.env.S3_BENCH_NS_KEYS ?? 100_000);
  const db: TestPostgres = await startPostgres({ durable: true });
  const baseL = await tempDir('fdfs-ns-bench-lmdb-');
  const nodes: RunningNode[] = [];
  try {
    // lmdb: credential made at a first start, keys filled while the node is stopped.
    const first = await startNode({ base: baseL });
    const [akL, skL] = await credentialOf(first);
    await first.stop();
    const lmdbNs = await openLmdbNamespace(join(baseL, 's3-namespace'), { durable: false });
    for (const name of ['big', 'put'])
      await lmdbNs.createBucket({ name, owner: akL, createdAt: 0, public: false });
    await fillThrough(lmdbNs, total);
    await lmdbNs.close();
    const nodeL = await startNode({ base: baseL });
    nodes.push(nodeL);
    // S3_BENCH_NS_PROF=dir: the PostgreSQL side's node runs with --cpu-prof into dir.
    const prof = process.env.S3_BENCH_NS_PROF;
    const nodeP = await startNode({
      args: ['--set', `s3.namespace=${db.url()}`],
      ...(prof ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${prof}`] } : {}),
    });
    nodes.push(nodeP);
    const [akP, skP] = await credentialOf(nodeP);
    const pgNs = await openPgNamespace(db.url());
    for (const name of ['big', 'put'])
      await pgNs.createBucket({ name, owner: akP, createdAt: 0, public: false });
    await pgNs.close();
    await fillPostgres(db.url(), total);
    const sides: Side[] = [
      { name: 'lmdb', usesDb: false, node: nodeL, s3: new S3Urls(nodeL, akL, skL) },
      { name: 'postgres', usesDb: true, node: nodeP, s3: new S3Urls(nodeP, akP, skP) },
    ];
    const puts = await putRates(sides, db, seconds);
    const lists: string[] = [];
    for (const s of sides) {
      const t = await listTimes(s, total);
      lists.push(
        `  ${s.name.padEnd(8)} 1,000 keys at random start-after: p50 ${pct(t.plain, 50)} ms, p99 ${pct(t.plain, 99)} ms;` +
          ` delimiter '/', 1,000 prefixes: p50 ${pct(t.delimited, 50)} ms, p99 ${pct(t.delimited, 99)} ms`,
      );
    }
    return [
      'S3 namespace: the embedded lmdb store vs PostgreSQL 15 (fsync and synchronous_commit on), same node otherwise',
      ...puts,
      `ListObjectsV2, max-keys 1000, bucket of ${total.toLocaleString('en')} keys (${(total / 1000).toLocaleString('en')} per prefix), one page at a time:`,
      ...lists,
    ].join('\n');
  } finally {
    for (const n of nodes) await n.stop();
    await removeFolder(baseL);
    await db.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  deferFolderRemoval();
  try {
    process.stdout.write(`${await namespaceSection(Number(process.env.BENCH_SECONDS ?? 2))}\n`);
  } finally {
    await removeDeferredFolders();
  }
}
