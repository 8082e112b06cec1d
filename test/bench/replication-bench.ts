/**
 * Replication figures, with real processes (tracker, storages A and B on 127.0.0.2/.3):
 *  - absorb: A holds a backlog B has not seen; files/s and MB/s at which B takes it in
 *    (one pusher over sync_push_connections connections, its default 64; FastDFS pushes over one);
 *  - lag: uploads to A at a steady rate; seconds from A acknowledging a file to the file
 *    being on B's disk (p50 / p95 / max).
 * Storages run with their defaults (durable_writes=true, sync_wait_msec=50) except a 1 s
 * heartbeat, which only speeds up the set-up.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FdfsClient, resolveSource, StorageClient } from '../../src/client/index.js';
import { defaultClientConfig } from '../../src/config/index.js';
import { StorageStatus } from '../../src/protocol/index.js';
import { type Proc, removeDirs, startStorageProc, startTrackerProc } from '../helpers/cluster.js';
import { eventually } from '../helpers/node-process.js';
import { timed } from './native-bench.js';

const STORAGE_SETS = [
  'heart_beat_interval=1s',
  'stat_report_interval=5s',
  'sync_wait_msec=50',
  'durable_writes=true',
  'subdir_count_per_path=16',
];

export interface AbsorbRow {
  readonly size: number;
  readonly files: number;
  readonly seconds: number;
}

/** Uploads in flight at most while a steady rate is offered. */
const LAG_IN_FLIGHT = 64;

export interface LagFigure {
  readonly rate: number;
  /** The rate the uploads really ran at (below `rate` when A could not take them that fast). */
  readonly offered: number;
  readonly size: number;
  readonly files: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

interface Rig {
  readonly tracker: Proc;
  a: Proc;
  b: Proc;
  readonly client: FdfsClient;
  readonly all: Proc[];
}

async function countFiles(base: string): Promise<number> {
  let n = 0;
  const data = join(base, 'data');
  for (const hi of await readdir(data).catch(() => [] as string[])) {
    if (!/^[0-9A-F]{2}$/.test(hi)) continue;
    for (const lo of await readdir(join(data, hi))) n += (await readdir(join(data, hi, lo))).length;
  }
  return n;
}

async function rig(durable: boolean): Promise<Rig> {
  const tracker = await startTrackerProc({ sets: ['check_active_interval=10'] });
  const trackers = [{ host: tracker.host, port: tracker.port }];
  const sets = STORAGE_SETS.map((s) => (s.startsWith('durable_writes=') ? `durable_writes=${durable}` : s));
  const a = await startStorageProc({ host: '127.0.0.2', group: 'group1', trackers, sets });
  const b = await startStorageProc({ host: '127.0.0.3', group: 'group1', trackers, sets });
  const client = new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`${tracker.host}:${tracker.port}`]]])).config,
  );
  await eventually(async () => {
    const list = await client.listStorages('group1');
    if (list.length !== 2 || list.some((s) => s.status !== StorageStatus.ACTIVE))
      throw new Error('not active');
  }, 30_000);
  return { tracker, a, b, client, all: [tracker, a, b] };
}

async function teardown(r: Rig): Promise<void> {
  await r.client.close();
  for (const p of [...r.all].reverse()) await p.stop();
  await removeDirs(r.all.map((p) => p.base));
}

function uploader(r: Rig, s: Proc) {
  return async (data: Buffer): Promise<string> => {
    const stored = await r.client.pool.use({ host: s.host, port: s.port }, async (conn) =>
      new StorageClient(conn).upload({
        storePathIndex: 0xff,
        ext: 'bin',
        content: await resolveSource(data),
        appender: false,
      }),
    );
    return stored.remote;
  };
}

/** B stopped, a backlog uploaded to A, B restarted: how fast B takes the backlog in. */
async function absorb(r: Rig, size: number, seconds: number): Promise<AbsorbRow> {
  const port = r.b.port;
  await r.b.stop();
  const put = uploader(r, r.a);
  const data = Buffer.alloc(size, 0x5a);
  const maxOps = Math.max(200, Math.floor((256 * 1024 * 1024) / size));
  const before = await countFiles(r.a.base);
  await timed(16, seconds, maxOps, async () => {
    await put(data);
  });
  const want = await countFiles(r.a.base);
  const backlog = want - before;
  r.b = await startStorageProc({ ...bOpts(r), base: r.b.base, port });
  r.all.push(r.b);
  // From the first backlog file on B to the last: the push rate, not the reconnect backoff.
  let first = 0;
  let last = 0;
  for (;;) {
    const have = await countFiles(r.b.base);
    const now = performance.now();
    if (have > before && first === 0) first = now;
    if (have >= want) {
      last = now;
      break;
    }
    // Counting reads every subdirectory: poll gently so the count does not steal the CPU.
    await new Promise((res) => setTimeout(res, 100));
  }
  return { size, files: backlog, seconds: Math.max(0.001, (last - first) / 1000) };
}

function bOpts(r: Rig) {
  return {
    host: '127.0.0.3',
    group: 'group1',
    trackers: [{ host: r.tracker.host, port: r.tracker.port }],
    sets: STORAGE_SETS,
  };
}

/**
 * Uploads to A at `rate` files/s for `seconds`; per file, time from A's ack to presence on B.
 * Each upload starts on its schedule without waiting for the one before (at most IN_FLIGHT at
 * once), so a rate above one client's round-trip rate is really offered.
 */
async function lag(r: Rig, rate: number, size: number, seconds: number): Promise<LagFigure> {
  const put = uploader(r, r.a);
  const data = Buffer.alloc(size, 0x33);
  const pending = new Map<string, number>();
  const lags: number[] = [];
  let uploading = true;
  const watcher = (async () => {
    while (uploading || pending.size > 0) {
      for (const [remote, at] of pending) {
        const there = await stat(join(r.b.base, 'data', remote.slice(4))).then(
          () => true,
          () => false,
        );
        if (there) {
          lags.push((performance.now() - at) / 1000);
          pending.delete(remote);
        }
      }
      await new Promise((res) => setTimeout(res, 2));
    }
  })();
  const total = Math.max(1, Math.round(rate * seconds));
  const start = performance.now();
  const running = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    while (running.size >= LAG_IN_FLIGHT) await Promise.race(running);
    const one = put(data).then((remote) => {
      pending.set(remote, performance.now());
      running.delete(one);
    });
    running.add(one);
  }
  await Promise.all(running);
  const offered = total / ((performance.now() - start) / 1000);
  uploading = false;
  await watcher;
  lags.sort((x, y) => x - y);
  const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? 0;
  return {
    rate,
    offered,
    size,
    files: lags.length,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    max: lags.at(-1) ?? 0,
  };
}

const ms = (s: number) => (s * 1000).toFixed(0);
const fmtSize = (n: number) => (n >= 1024 * 1024 ? `${n / (1024 * 1024)} MiB` : `${n / 1024} KiB`);

/** The printed replication section. */
export async function replicationSection(seconds: number): Promise<string> {
  const out: string[] = [];
  for (const durable of [true, false]) {
    const r = await rig(durable);
    try {
      const rows: AbsorbRow[] = [];
      for (const size of [4 * 1024, 100 * 1024, 1024 * 1024]) rows.push(await absorb(r, size, seconds));
      out.push(
        `Replication: a peer absorbing a backlog (one pusher, sync_push_connections = 64), durable_writes=${durable}`,
      );
      out.push('| size | files | files/s | MB/s |', '|------|-------|---------|------|');
      for (const row of rows) {
        const fps = row.files / row.seconds;
        out.push(
          `| ${fmtSize(row.size)} | ${row.files} | ${fps.toFixed(0)} | ${((fps * row.size) / 2 ** 20).toFixed(1)} |`,
        );
      }
      if (durable) {
        for (const rate of [50, 1000]) {
          const l = await lag(r, rate, 4 * 1024, Math.max(2, seconds));
          out.push(
            '',
            `Replication lag at a steady ${l.rate} uploads/s of ${fmtSize(l.size)} (ran at ${l.offered.toFixed(0)}/s; upload acknowledged on A → file on B's disk, ${l.files} files):`,
            `p50 ${ms(l.p50)} ms, p95 ${ms(l.p95)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms`,
          );
        }
      }
      out.push('');
    } finally {
      await teardown(r);
    }
  }
  return out.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 2);
  process.stdout.write(`${await replicationSection(seconds)}\n`);
}
