/**
 * The disk's durable create rate, the ceiling for durable small uploads: 4 KB files made the way
 * a durable store makes them (write, fdatasync, rename into place, fsync of the directory) with
 * 64 in flight for the given seconds. Run as its own process with UV_THREADPOOL_SIZE=64, so all
 * 64 really wait on the disk at once (the default pool of 4 would measure the pool instead).
 * Prints one JSON line: { files, seconds }.
 *
 * usage: node disk-probe.js <empty dir on the disk to measure> <seconds>
 */
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';

const IN_FLIGHT = 64;
const SIZE = 4 * 1024;

async function probe(dir: string, seconds: number): Promise<{ files: number; seconds: number }> {
  const tmp = join(dir, 'tmp');
  const data = join(dir, 'data');
  await mkdir(tmp, { recursive: true });
  await mkdir(data, { recursive: true });
  const body = Buffer.alloc(SIZE, 0x5a);
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < deadline) {
        const n = next++;
        const from = join(tmp, `${n}.tmp`);
        const f = await open(from, 'wx', 0o644);
        try {
          await f.write(body, 0, SIZE, 0);
          await f.datasync();
        } finally {
          await f.close();
        }
        await rename(from, join(data, String(n)));
        const d = await open(data, 'r');
        try {
          await d.sync();
        } finally {
          await d.close();
        }
      }
    }),
  );
  return { files: next, seconds: (performance.now() - start) / 1000 };
}

const [dir, secs] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: disk-probe <dir> <seconds>\n');
  process.exit(2);
}
probe(dir, Number(secs ?? 3)).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (err: unknown) => {
    process.stderr.write(`disk probe failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
