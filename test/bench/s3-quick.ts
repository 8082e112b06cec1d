/**
 * A part of the S3 section on a node of its own, for a short run while working on one path:
 * `node dist/test/bench/s3-quick.js get,fresh 64` (pairs put/get/fresh, connection counts).
 * S3_QUICK_PROF=dir starts the node with --cpu-prof into dir (written when it stops).
 */
import { startNode } from '../helpers/node-process.js';
import { type S3Only, s3Rates } from './s3-bench.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const pairs = (process.argv[2] ?? 'put,get,fresh').split(',') as NonNullable<S3Only['pairs']>[number][];
const conns = (process.argv[3] ?? '16,64').split(',').map(Number);
const prof = process.env.S3_QUICK_PROF;
const node = await startNode({
  args: ['--set', 'durable_writes=true'],
  ...(prof ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${prof}`] } : {}),
});
try {
  const { ratios } = await s3Rates(node, seconds, { pairs, conns });
  process.stdout.write(`${ratios.join('\n')}\n`);
} finally {
  await node.stop();
}
