/**
 * The fuzz run: starts `fdfs start`, then batches of native cases (tracker and storage ports)
 * and HTTP cases (gateway) from one seed. After each batch the node must still serve (health,
 * round trips, tracker) and the canaries and every file the fuzzer's own uploads got must still
 * match their ids; then everything but the canaries is deleted, so a long run keeps its disk.
 * A node that dies is a crash: its stderr is matched against known.ts, it is restarted on the
 * same data and the run goes on.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkNode } from '../harness/node-checks.js';
import { Rng } from '../harness/rng.js';
import { diskUsage } from '../harness/verify.js';
import { remove, upload } from '../harness/wire.js';
import { type RunningNode, startNode, tempDir } from '../helpers/node-process.js';
import { runHttpCase } from './http.js';
import { KNOWN_CRASHES } from './known.js';
import { runCase } from './native.js';

export interface FuzzOptions {
  readonly seed: number;
  readonly packets: number;
  readonly http: number;
  readonly minutes: number;
  readonly batch?: number;
  readonly concurrency?: number;
  readonly rate?: number;
  readonly hangMs?: number;
  readonly log?: (line: string) => void;
}

export interface Crash {
  readonly signature: string;
  readonly known: string | undefined;
  readonly lastCases: string[];
}

export interface FuzzReport {
  seed: number;
  packets: number;
  requests: number;
  cases: number;
  batches: number;
  crashes: Crash[];
  hangs: { how: string }[];
  checkFailures: string[];
  statuses: Record<string, number>;
  /** Requests answered 5xx (the first 50): an error path nobody handled. */
  serverErrors: string[];
  seconds: number;
  maxDiskMb: number;
}

const ARGS = [
  '--set',
  'subdir_count_per_path=4',
  '--set',
  'reserved_storage_space=0',
  '--set',
  'log_level=warn',
];

function signatureOf(stderr: readonly string[]): string {
  const plain = stderr.filter((l) => !l.startsWith('{'));
  const at = plain.findIndex((l) => /Error|error|assert|FATAL/.test(l));
  if (at >= 0) {
    const frames = plain
      .slice(at + 1)
      .filter((l) => /^\s+at /.test(l))
      .slice(0, 4);
    return [plain[at] ?? '', ...frames.map((f) => f.trim())].join(' | ').slice(0, 600);
  }
  if (plain[0]) return plain[0].slice(0, 300);
  const last = [...stderr].reverse().find((l) => /"level":"(error|fatal)"/.test(l));
  return (last ?? 'exited without a message').slice(0, 300);
}

async function storedNames(storeRoot: string): Promise<string[]> {
  const out: string[] = [];
  const data = join(storeRoot, 'data');
  for (const hi of await readdir(data).catch(() => [] as string[])) {
    if (!/^[0-9A-F]{2}$/.test(hi)) continue;
    for (const lo of await readdir(join(data, hi)).catch(() => [] as string[])) {
      for (const name of await readdir(join(data, hi, lo)).catch(() => [] as string[])) {
        if (!name.endsWith('-m')) out.push(`M00/${hi}/${lo}/${name}`);
      }
    }
  }
  return out;
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const batch = opts.batch ?? 2000;
  const concurrency = opts.concurrency ?? 16;
  const rate = opts.rate ?? 0.7;
  const hangMs = opts.hangMs ?? 10_000;
  const deadline = Date.now() + opts.minutes * 60_000;
  const rng = new Rng(opts.seed);
  const base = await tempDir('fdfs-fuzz-');
  const storeRoot = join(base, 'storage');
  let node: RunningNode = await startNode({ base, args: ARGS });
  const report: FuzzReport = {
    seed: opts.seed,
    packets: 0,
    requests: 0,
    cases: 0,
    batches: 0,
    crashes: [],
    hangs: [],
    checkFailures: [],
    statuses: {},
    serverErrors: [],
    seconds: 0,
    maxDiskMb: 0,
  };
  const started = Date.now();
  const recent: string[] = [];
  try {
    const canaries = [
      await upload(node.storage, randomBytes(5000), 'jpg'),
      await upload(node.storage, randomBytes(300), 'txt'),
    ];
    const group = canaries[0]?.split('/')[0] ?? 'group1';
    const remoteOf = (id: string) => id.slice(id.indexOf('/') + 1);
    while (Date.now() < deadline && (report.packets < opts.packets || report.requests < opts.http)) {
      const victim = await upload(node.storage, randomBytes(200), 'log', true);
      const canary = rng.pick(canaries);
      const ctx = { group, canary: remoteOf(canary), victim: remoteOf(victim) };
      const httpCtx = { canary, victim };
      const uploaded: string[] = [];
      const nativeLeft = Math.max(0, opts.packets - report.packets);
      const httpLeft = Math.max(0, opts.http - report.requests);
      // Native packets and HTTP requests in the proportion of what is left of each goal.
      const httpShare = httpLeft / Math.max(1, nativeLeft / 3.5 + httpLeft);
      let budget = batch;
      const worker = async (wr: Rng) => {
        while (budget > 0 && Date.now() < deadline) {
          budget--;
          if (wr.chance(httpShare)) {
            const r = await runHttpCase(wr, node.http, httpCtx, rate * 0.5, hangMs);
            report.requests++;
            const key = String(r.status ?? 'none');
            report.statuses[key] = (report.statuses[key] ?? 0) + 1;
            if (r.hung) report.hangs.push({ how: `http ${r.how}` });
            if (r.status !== undefined && r.status >= 500 && report.serverErrors.length < 50)
              report.serverErrors.push(
                `${r.status} ${r.how} ${JSON.stringify(r.raw.toString('latin1', 0, 400))}`,
              );
            recent.push(`http ${r.how}`);
          } else {
            const target = wr.chance(0.35) ? 'tracker' : 'storage';
            const r = await runCase(
              wr,
              target === 'tracker' ? node.tracker : node.storage,
              target,
              ctx,
              rate,
              hangMs,
            );
            report.packets += r.packets;
            uploaded.push(...r.uploaded);
            if (r.hung) report.hangs.push({ how: r.how });
            recent.push(r.how);
          }
          report.cases++;
          if (recent.length > 40) recent.shift();
        }
      };
      await Promise.all(Array.from({ length: concurrency }, () => worker(rng.fork())));
      report.batches++;

      const dead = node.child.exitCode !== null || node.child.signalCode !== null;
      if (dead) {
        const signature = signatureOf(node.stderr);
        const known = KNOWN_CRASHES.find((k) => k.signature.test(node.stderr.join('\n')))?.reason;
        report.crashes.push({ signature, known, lastCases: [...recent] });
        log(`CRASH (${known ? 'known' : 'new'}): ${signature}`);
        node = await startNode({ base, args: ARGS });
        continue;
      }
      const problems = await checkNode(node, storeRoot, [
        ...canaries,
        ...uploaded.filter((id) => id.startsWith(`${group}/`)),
      ]);
      if (problems.length > 0) {
        report.checkFailures.push(...problems.map((p) => `batch ${report.batches}: ${p}`));
        log(`check failed after batch ${report.batches}: ${problems.join('; ')}`);
      }
      // Keep the disk bounded: everything but the canaries goes (through the storage, so its
      // binlog says so too).
      const keep = new Set(canaries.map(remoteOf));
      for (const name of await storedNames(storeRoot)) {
        if (!keep.has(name)) await remove(node.storage, `${group}/${name}`).catch(() => {});
      }
      const mb = (await diskUsage(base)) / 2 ** 20;
      report.maxDiskMb = Math.max(report.maxDiskMb, Math.round(mb));
      log(
        `batch ${report.batches}: ${report.packets} packets, ${report.requests} requests, ${report.crashes.length} crashes, ${report.hangs.length} hangs, ${report.checkFailures.length} check failures, disk ${mb.toFixed(1)} MB, ${Math.round((Date.now() - started) / 1000)} s`,
      );
    }
  } finally {
    report.seconds = Math.round((Date.now() - started) / 1000);
    // stop() removes the data folder only for folders it made; this one is ours.
    await node.stop();
    const { rm } = await import('node:fs/promises');
    await rm(base, { recursive: true, force: true });
  }
  return report;
}
