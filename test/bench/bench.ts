/**
 * `npm run bench`: starts the embedded node (`fdfs start`) and prints figures a person can
 * compare run to run. Durable mode (fsync before every reply, our default) and non-durable mode
 * (stock FastDFS behaviour, `--set durable_writes=false`) are both measured, so fastdfs-ts can be
 * compared with FastDFS like for like. BENCH_SECONDS sets the time per cell (default 2);
 * MEM_BENCH_MB the size of each of the memory section's 64 concurrent transfers (default 256).
 */
import { cpus, totalmem } from 'node:os';
import { startNode } from '../helpers/node-process.js';
import { deferFolderRemoval, removeDeferredFolders } from '../helpers/removal.js';
import { diskCeilingSection } from './disk-bench.js';
import { httpSection } from './http-bench.js';
import { IMAGE_BENCH_ARGS, imageSection } from './image-bench.js';
import { memoryBench } from './memory-bench.js';
import { nativeBench, table } from './native-bench.js';
import { replicationSection } from './replication-bench.js';
import { s3Section } from './s3-bench.js';
import { namespaceSection } from './s3-namespace-bench.js';
import { sideBySideSection } from './side-by-side.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 2);

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  process.stdout.write(
    `fastdfs-ts benchmark — node ${process.version}, ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${seconds}s per cell\n\n`,
  );
  for (const durable of [true, false]) {
    const node = await startNode({ args: ['--set', `durable_writes=${durable}`, ...IMAGE_BENCH_ARGS] });
    try {
      const rows = await nativeBench(node, seconds);
      process.stdout.write(`${table(`Native protocol, durable_writes=${durable}`, rows)}\n\n`);
      // The ceiling durable small uploads are measured against, on the durable node.
      if (durable) process.stdout.write(`${await diskCeilingSection(node, seconds)}\n\n`);
      // HTTP figures once, on the default (durable) node, next to its native ones.
      if (durable) process.stdout.write(`${await httpSection(node, seconds)}\n\n`);
      // S3 figures next to the HTTP ones they are compared with, on the same node.
      if (durable) process.stdout.write(`${await s3Section(node, seconds)}\n\n`);
      // Image variants next to the plain GETs they are compared with.
      if (durable) process.stdout.write(`${await imageSection(node, seconds)}\n\n`);
    } finally {
      await node.stop();
    }
  }
}

async function replication(): Promise<void> {
  process.stdout.write(`${await replicationSection(seconds)}\n\n`);
  // Against FastDFS itself when it is installed here (../shared/perf), with the machine otherwise idle.
  process.stdout.write(`${await sideBySideSection(seconds)}\n\n`);
  // The S3 namespace on lmdb and on PostgreSQL, on nodes of their own.
  process.stdout.write(`${await namespaceSection(seconds)}\n\n`);
  // Last: it writes 64 large files at once (16 GB at the default size), which slows any disk work
  // around it.
  process.stdout.write(`${await memoryBench()}\n`);
}

// Every folder a section made is removed at the end, not when the section ends (removal.ts).
deferFolderRemoval();
main()
  .then(replication)
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(removeDeferredFolders);
