/**
 * Durable 4 KB uploads against the disk's own ceiling: the durable create rate (disk-probe.ts,
 * 64 in flight, write + fdatasync + rename + directory fsync) next to native uploads of 4 KB
 * with 64 in flight to the durable node, three rounds in turns so both see the same machine.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RunningNode, tempDir } from '../helpers/node-process.js';
import { removeFolder } from '../helpers/removal.js';
import { clientFor, timed } from './native-bench.js';

const run = promisify(execFile);
const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'disk-probe.js');
const IN_FLIGHT = 64;
const ROUNDS = 3;

async function createRate(seconds: number): Promise<number> {
  const dir = await tempDir('fdfs-disk-probe-');
  try {
    const { stdout } = await run(process.execPath, [PROBE, dir, String(seconds)], {
      env: { ...process.env, UV_THREADPOOL_SIZE: String(IN_FLIGHT) },
    });
    const r = JSON.parse(stdout) as { files: number; seconds: number };
    return r.files / r.seconds;
  } finally {
    await removeFolder(dir);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** The printed section; `node` must run with durable_writes=true. */
export async function diskCeilingSection(node: RunningNode, seconds: number): Promise<string> {
  const client = clientFor(node);
  const data = Buffer.alloc(4 * 1024, 0x5a);
  const disk: number[] = [];
  const ours: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      disk.push(await createRate(seconds));
      // The files stay until the bench ends, as the probe's do: deleting them here would slow
      // the next round's creates on both sides (removal.ts).
      const up = await timed(IN_FLIGHT, seconds, 1_000_000, async () => {
        await client.upload(data, { ext: 'bin' });
      });
      ours.push(up.ops / up.seconds);
    }
  } finally {
    await client.close();
  }
  const f = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' / ');
  return [
    `Durable 4 KB uploads against the disk's durable create rate (${IN_FLIGHT} in flight, ${ROUNDS} rounds in turns, files/s):`,
    `  disk (write + fdatasync + rename + directory fsync): ${f(disk)}   median ${median(disk).toFixed(0)}`,
    `  fastdfs-ts native upload, durable_writes=true:        ${f(ours)}   median ${median(ours).toFixed(0)}`,
    `  ratio upload/disk (medians): ${(median(ours) / median(disk)).toFixed(2)}  (aim ≥ 0.85)`,
  ].join('\n');
}
