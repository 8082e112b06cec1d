/**
 * `npm run fuzz -- [--seed N] [--packets N] [--http N] [--minutes N] [--batch N] [--concurrency N]`:
 * a seeded mutation fuzzer against a fresh `fdfs start`. Exits 1 on a crash not listed in
 * known.ts, or when the node stopped serving or lost a file; 0 otherwise.
 */
import { numberArg, parseArgs } from '../harness/args.js';
import { runFuzz } from './run.js';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const seed = numberArg(args, 'seed', Date.now() % 2 ** 31);
  const opts = {
    seed,
    packets: numberArg(args, 'packets', 1_000_000),
    http: numberArg(args, 'http', 100_000),
    minutes: numberArg(args, 'minutes', 60),
    batch: numberArg(args, 'batch', 2000),
    concurrency: numberArg(args, 'concurrency', 16),
    log: (line: string) => process.stderr.write(`${line}\n`),
  };
  process.stderr.write(
    `fuzz: seed ${seed}, goal ${opts.packets} packets / ${opts.http} requests, at most ${opts.minutes} min\n`,
  );
  const r = await runFuzz(opts);
  const unknown = r.crashes.filter((c) => !c.known);
  const summary = {
    seed: r.seed,
    packets: r.packets,
    requests: r.requests,
    cases: r.cases,
    batches: r.batches,
    seconds: r.seconds,
    crashes: r.crashes.length,
    unknownCrashes: unknown.length,
    hangs: r.hangs.length,
    checkFailures: r.checkFailures.length,
    maxDiskMb: r.maxDiskMb,
    httpStatuses: r.statuses,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  for (const c of r.crashes)
    process.stdout.write(
      `crash: ${c.signature}\n  last cases:\n    ${c.lastCases.slice(-10).join('\n    ')}\n`,
    );
  for (const h of r.hangs.slice(0, 20)) process.stdout.write(`hang: ${h.how}\n`);
  for (const e of r.serverErrors.slice(0, 20)) process.stdout.write(`5xx: ${e}\n`);
  for (const f of r.checkFailures.slice(0, 20)) process.stdout.write(`check: ${f}\n`);
  if (unknown.length > 0 || r.checkFailures.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`fuzz failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 2;
});
