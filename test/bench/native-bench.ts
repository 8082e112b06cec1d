/** Native-protocol figures: uploads/s, downloads/s and MB/s per file size and concurrency. */
import { FdfsClient } from '../../src/client/index.js';
import { defaultClientConfig } from '../../src/config/index.js';
import { eventually, type RunningNode } from '../helpers/node-process.js';

export interface Row {
  readonly op: string;
  readonly size: number;
  readonly concurrency: number;
  readonly ops: number;
  readonly seconds: number;
}

export const SIZES = [4 * 1024, 100 * 1024, 4 * 1024 * 1024];
export const CONCURRENCY = [1, 16];

/** Runs `fn` from `concurrency` loops until `seconds` pass or `maxOps` are done. */
export async function timed(
  concurrency: number,
  seconds: number,
  maxOps: number,
  fn: (i: number) => Promise<void>,
) {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && next < maxOps) await fn(next++);
    }),
  );
  return { ops: next, seconds: (performance.now() - start) / 1000 };
}

export function clientFor(node: RunningNode): FdfsClient {
  const over = new Map([
    ['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]],
    ['network_timeout', ['60']],
  ]);
  return new FdfsClient(defaultClientConfig(over).config);
}

export async function nativeBench(node: RunningNode, seconds: number): Promise<Row[]> {
  const client = clientFor(node);
  await eventually(() => client.upload(Buffer.from('warm-up')));
  const rows: Row[] = [];
  try {
    for (const size of SIZES) {
      const data = Buffer.alloc(size, 0x5a);
      for (const c of CONCURRENCY) {
        const ids: string[] = [];
        const maxOps = Math.max(50, Math.floor((512 * 1024 * 1024) / size));
        const up = await timed(c, seconds, maxOps, async () => {
          ids.push(await client.upload(data, { ext: 'bin' }));
        });
        rows.push({ op: 'upload', size, concurrency: c, ...up });
        const down = await timed(c, seconds, maxOps * 4, async (i) => {
          const got = await client.downloadBuffer(ids[i % ids.length] ?? '');
          if (got.length !== size) throw new Error(`downloaded ${got.length} bytes, expected ${size}`);
        });
        rows.push({ op: 'download', size, concurrency: c, ...down });
        // Large files go at once (their bytes add up, their inodes do not); small ones stay until
        // the bench ends: freed inodes slow every create after them for minutes (removal.ts).
        if (size >= 1024 * 1024) await timed(c, 3600, ids.length, async (i) => client.delete(ids[i] ?? ''));
      }
    }
  } finally {
    await client.close();
  }
  return rows;
}

export function formatSize(n: number): string {
  return n >= 1024 * 1024 ? `${n / (1024 * 1024)} MB` : `${n / 1024} KB`;
}

export function table(title: string, rows: readonly Row[]): string {
  const head = ['op', 'size', 'conc', 'ops', 'ops/s', 'MB/s'];
  const body = rows.map((r) => [
    r.op,
    formatSize(r.size),
    String(r.concurrency),
    String(r.ops),
    (r.ops / r.seconds).toFixed(0),
    ((r.ops * r.size) / r.seconds / (1024 * 1024)).toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i] ?? 0)).join(' | ')} |`;
  return [
    `${title}`,
    line(head),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}
