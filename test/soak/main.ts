/**
 * `npm run soak -- [--minutes 30] [--warmup M] [--measure S] [--load 0.8]`: one `fdfs start`
 * node; first the maximum rate of a cycle (upload 4 KB through the tracker, GET it from the
 * gateway, delete it) is measured with 16 concurrent loops, then cycles are started at 80% of
 * it for the whole run. Every failed cycle is an error. RSS of the node is sampled every 10 s;
 * after the warmup (the small-file cache and pools fill first) each minute's median must stay
 * within ±10% of the first post-warmup minute's. A single sample lands anywhere in V8's GC cycle
 * and swings by tens of MB with nothing leaked; a minute's median is the level a leak would move.
 * The raw extremes are printed too. Exits 1 on any error or a drift beyond that.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { FdfsClient } from '../../src/client/index.js';
import { defaultClientConfig } from '../../src/config/index.js';
import { numberArg, parseArgs } from '../harness/args.js';
import { eventually, startNode } from '../helpers/node-process.js';
import { procStatusKb } from '../helpers/proc-status.js';

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** VmRSS and its parts: anonymous memory (heap, malloc) and file-backed pages (mapped files). */
async function rssMb(pid: number): Promise<{ rss: number; anonMb: number; fileMb: number }> {
  const kb = await procStatusKb(pid);
  const mb = (field: string) => (kb(field) || 0) / 1024;
  return { rss: mb('VmRSS'), anonMb: mb('RssAnon'), fileMb: mb('RssFile') + mb('RssShmem') };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Medians of whole minutes counted from `from`; a trailing part-minute is left out. */
function medianPerMinute(samples: { min: number; value: number }[], from: number): number[] {
  const buckets: number[][] = [];
  for (const s of samples) {
    const i = Math.floor(s.min - from);
    const bucket = buckets[i] ?? [];
    bucket.push(s.value);
    buckets[i] = bucket;
  }
  const whole = buckets.filter((b) => b.length >= 5);
  return whole.map(median);
}

/** http.cache.max_memory is 64 MB by default; "full" leaves room for one file more. */
const CACHE_FULL_MB = 63;

interface Gauges {
  cacheMb: number;
  heapMb: number;
  heapTotalMb: number;
  externalMb: number;
}

async function gauges(base: string): Promise<Gauges> {
  const text = await fetch(`${base}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const mb = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0) / 2 ** 20;
  return {
    cacheMb: mb('fdfs_http_file_cache_bytes'),
    heapMb: mb('nodejs_heap_used_bytes'),
    heapTotalMb: mb('nodejs_heap_total_bytes'),
    externalMb: mb('nodejs_external_memory_bytes'),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const minutes = numberArg(args, 'minutes', 30);
  const warmup = numberArg(args, 'warmup', minutes >= 30 ? 10 : minutes / 3);
  const measure = numberArg(args, 'measure', 20);
  const load = numberArg(args, 'load', 0.8);
  const node = await startNode();
  const pid = node.child.pid ?? 0;
  const client = new FdfsClient(
    defaultClientConfig(
      new Map([
        ['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]],
        ['network_timeout', ['10']],
      ]),
    ).config,
  );
  const base = `http://${node.http.host}:${node.http.port}`;
  const errors: string[] = [];
  const cycle = async () => {
    const data = randomBytes(4096);
    const id = await client.upload(data, { ext: 'bin' });
    const r = await fetch(`${base}/${id}`);
    const got = Buffer.from(await r.arrayBuffer());
    if (r.status !== 200 || !got.equals(data))
      throw new Error(`GET /${id}: ${r.status}, ${got.length} bytes`);
    await client.delete(id);
  };
  try {
    await eventually(cycle, 60_000, 200); // the storage is ACTIVE
    // The maximum: closed loops for `measure` seconds.
    let done = 0;
    const until = Date.now() + measure * 1000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) {
          await cycle();
          done++;
        }
      }),
    );
    const max = done / measure;
    const rate = max * load;
    log(
      `soak: maximum ${max.toFixed(0)} cycles/s; running ${rate.toFixed(0)}/s for ${minutes} min, warmup ${warmup} min`,
    );

    const start = Date.now();
    const end = start + minutes * 60_000;
    let started = 0;
    let finished = 0;
    let inflight = 0;
    let skipped = 0;
    const samples: ({ min: number; rss: number; anonMb: number; fileMb: number } & Gauges)[] = [];
    let nextSample = start;
    while (Date.now() < end) {
      const due = Math.floor(((Date.now() - start) / 1000) * rate);
      while (started < due) {
        started++;
        if (inflight >= 256) {
          skipped++;
          continue;
        }
        inflight++;
        cycle().then(
          () => {
            inflight--;
            finished++;
          },
          (err: unknown) => {
            inflight--;
            if (errors.length < 100) errors.push((err as Error).message);
            else errors.push('');
          },
        );
      }
      if (Date.now() >= nextSample) {
        const mem = await rssMb(pid);
        const rss = mem.rss;
        const min = (Date.now() - start) / 60_000;
        samples.push({ min, ...mem, ...(await gauges(base)) });
        if (samples.length % 6 === 1)
          log(`${min.toFixed(1)} min: ${finished} cycles, ${errors.length} errors, RSS ${rss.toFixed(1)} MB`);
        nextSample += 10_000;
      }
      await sleep(20);
    }
    while (inflight > 0) await sleep(50);
    // The warmup lasts at least until the small-file cache is full, if it ever fills (the storage
    // tells the gateway of deletes, so this workload's files leave it as they are deleted).
    const full = samples.find((s) => s.cacheMb >= CACHE_FULL_MB)?.min;
    const settled = Math.max(warmup, full ?? warmup);
    const after = samples.filter((s) => s.min >= settled);
    const perMinute = (pick: (s: (typeof samples)[number]) => number) =>
      medianPerMinute(
        after.map((s) => ({ min: s.min, value: pick(s) })),
        settled,
      ).map((m) => Math.round(m));
    const minuteMedians = perMinute((s) => s.rss);
    const ref = minuteMedians[0] ?? 0;
    const lo = Math.min(...minuteMedians);
    const hi = Math.max(...minuteMedians);
    const drift = ref > 0 ? Math.max(hi / ref - 1, 1 - lo / ref) : 0;
    const rawLo = Math.min(...after.map((s) => s.rss));
    const rawHi = Math.max(...after.map((s) => s.rss));
    const summary = {
      minutes,
      warmupMinutes: Math.round(settled * 10) / 10,
      cacheFullAtMinute: full === undefined ? null : Math.round(full * 10) / 10,
      maxCyclesPerSecond: Math.round(max),
      targetPerSecond: Math.round(rate),
      cycles: finished,
      achievedPerSecond: Math.round(finished / (minutes * 60)),
      errors: errors.length,
      skippedBehind: skipped,
      rssMb: {
        firstMinuteMedian: Math.round(ref * 10) / 10,
        minuteMedianMin: Math.round(lo * 10) / 10,
        minuteMedianMax: Math.round(hi * 10) / 10,
        sampleMin: Math.round(rawLo * 10) / 10,
        sampleMax: Math.round(rawHi * 10) / 10,
      },
      rssMinuteMedians: minuteMedians,
      // Which part moves, if RSS does: JS objects, Buffers, or neither (the allocator).
      rssAnonMinuteMedians: perMinute((s) => s.anonMb),
      rssFileMinuteMedians: perMinute((s) => s.fileMb),
      heapUsedMinuteMedians: perMinute((s) => s.heapMb),
      heapReservedMinuteMedians: perMinute((s) => s.heapTotalMb),
      externalMinuteMedians: perMinute((s) => s.externalMb),
      rssDriftPercent: Math.round(drift * 1000) / 10,
      rssBeforeWarmupEnd: samples.filter((s) => s.min < settled).map((s) => Math.round(s.rss)),
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    for (const e of errors.filter(Boolean).slice(0, 10)) process.stdout.write(`error: ${e}\n`);
    if (errors.length > 0 || drift > 0.1 || skipped > 0) process.exitCode = 1;
  } finally {
    await client.close();
    await node.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
});
