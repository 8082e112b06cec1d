/**
 * Memory under many concurrent large transfers: 64 native downloads and 64 HTTP GETs of one file of
 * MEM_BENCH_MB, then 64 native uploads of that size, with the VmRSS of the node process (and of
 * any storage worker processes) sampled every 100 ms. Issue #10's bound is 200 MB per process at
 * 1 GB per transfer (`MEM_BENCH_MB=1024`: 64 GB written, about 4 minutes here); the bench's
 * default of 256 MB per transfer reaches the same steady state in a quarter of the time.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { eventually, type RunningNode, startNode } from '../helpers/node-process.js';
import { procStatusKb } from '../helpers/proc-status.js';
import { clientFor } from './native-bench.js';

const CONCURRENCY = 64;
const MB = 1024 * 1024;

/** Bytes; 0 for a process that is gone (a worker that exited between two samples). */
async function rssOf(pid: number): Promise<number> {
  const kb = await procStatusKb(pid).catch(() => () => 0);
  return (kb('VmRSS') || 0) * 1024;
}

/** The node and its child processes (storage workers, when `work_processes` > 0). */
async function processTree(pid: number): Promise<number[]> {
  const tasks = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const kids = tasks.split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...kids];
}

/** Peak VmRSS per process while `run` goes, sampled every 100 ms. */
async function peakRss(pid: number, run: () => Promise<void>): Promise<Map<number, number>> {
  const peaks = new Map<number, number>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const p of await processTree(pid)) peaks.set(p, Math.max(peaks.get(p) ?? 0, await rssOf(p)));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await run();
  } finally {
    sampling = false;
    await sampler;
  }
  return peaks;
}

const CHUNK = Buffer.alloc(MB, 0x5a);

/** `size` bytes of one shared 1 MB buffer, as a stream. */
function pattern(size: number): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, MB);
      left -= n;
      this.push(n === MB ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

/** Counts the bytes and drops them. */
function counter(): { sink: Writable; bytes: () => number } {
  let n = 0;
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      n += c.length;
      cb();
    },
  });
  return { sink, bytes: () => n };
}

function httpGet(node: RunningNode, fileId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: node.http.host, port: node.http.port, path: `/${fileId}` }, (res) => {
      const c = counter();
      pipeline(res, c.sink).then(() => resolve(c.bytes()), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function memorySection(node: RunningNode): Promise<string> {
  const size = Number(process.env.MEM_BENCH_MB ?? 256) * MB;
  const client = clientFor(node);
  const pid = node.child.pid ?? 0;
  const lines = [
    `Memory: ${CONCURRENCY} concurrent transfers of ${size / MB} MB each, peak VmRSS per process (sampled every 100 ms)`,
    `  idle: ${Math.round((await rssOf(pid)) / MB)} MB`,
  ];
  const show = (what: string, peaks: Map<number, number>, secs: number) => {
    const each = [...peaks].map(([p, b]) => `${p === pid ? 'node' : `worker ${p}`} ${Math.round(b / MB)} MB`);
    lines.push(`  ${what}: ${each.join(', ')}  (${Math.round((CONCURRENCY * size) / MB / secs)} MB/s)`);
  };
  try {
    // Reads first, on a node that has taken one upload: RSS never shrinks back after the
    // uploads' peak, which would hide the reads' own.
    await client.delete(await eventually(() => client.upload(Buffer.from('warm-up'))));
    const one = await client.upload(pattern(size), { size, ext: 'bin' });
    let t0 = performance.now();
    let peaks = await peakRss(pid, async () => {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          const c = counter();
          await client.downloadTo(one, c.sink);
          if (c.bytes() !== size) throw new Error(`downloaded ${c.bytes()} bytes, expected ${size}`);
        }),
      );
    });
    show('native downloads', peaks, (performance.now() - t0) / 1000);
    t0 = performance.now();
    peaks = await peakRss(pid, async () => {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          const n = await httpGet(node, one);
          if (n !== size) throw new Error(`HTTP GET gave ${n} bytes, expected ${size}`);
        }),
      );
    });
    show('HTTP GETs', peaks, (performance.now() - t0) / 1000);
    await client.delete(one);
    const ids: string[] = [];
    t0 = performance.now();
    peaks = await peakRss(pid, async () => {
      const got = await Promise.all(
        Array.from({ length: CONCURRENCY }, () => client.upload(pattern(size), { size, ext: 'bin' })),
      );
      ids.push(...got);
    });
    show('native uploads', peaks, (performance.now() - t0) / 1000);
    await Promise.all(ids.map((id) => client.delete(id)));
  } finally {
    await client.close();
  }
  return lines.join('\n');
}

/** On a node of its own, so its idle figure and peaks are its own; `args` go to `fdfs start`. */
export async function memoryBench(args: string[] = []): Promise<string> {
  const node = await startNode({ args });
  try {
    return await memorySection(node);
  } finally {
    await node.stop();
  }
}

/** Alone: `node dist/test/bench/memory-bench.js [fdfs start args]` after `npm run build`. */
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${await memoryBench(process.argv.slice(2))}\n`);
}
