/**
 * Ratios against FastDFS itself, when the reference FastDFS 6.16.1 is installed on this machine
 * (../shared/perf/setup-fastdfs.sh): runs ../shared/perf/side-by-side.sh, which drives both with
 * one load generator in turns, once like for like (durable_writes=false, as FastDFS never
 * fsyncs) and once with our default (durable). Elsewhere the section says why it is skipped.
 * BENCH_SIDE_BY_SIDE=0 skips it.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/node-process.js';

const run = promisify(execFile);
const SCRIPT = resolve(ROOT, '../shared/perf/side-by-side.sh');

async function installed(): Promise<string | undefined> {
  if (process.env.BENCH_SIDE_BY_SIDE === '0') return 'BENCH_SIDE_BY_SIDE=0';
  const there = (p: string) =>
    access(p).then(
      () => true,
      () => false,
    );
  if (!(await there(SCRIPT))) return `${SCRIPT} not found`;
  if (!(await there('/etc/fdfs/tracker.conf'))) return 'the reference FastDFS is not installed';
  const trackerd = await run('sh', ['-c', 'command -v fdfs_trackerd']).then(
    () => true,
    () => false,
  );
  return trackerd ? undefined : 'fdfs_trackerd is not on PATH';
}

export async function sideBySideSection(seconds: number): Promise<string> {
  const why = await installed();
  if (why) return `Side by side with FastDFS 6.16.1: skipped (${why}; see ../shared/perf/README.md)`;
  const out: string[] = [];
  const secs = String(Math.max(3, seconds));
  for (const sets of [['--set', 'durable_writes=false'], []]) {
    const mode = sets.length > 0 ? 'durable_writes=false, like for like' : 'durable_writes=true, our default';
    const r = await run('bash', [SCRIPT, ...sets, '--secs', secs], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      (x) => x.stdout.trim(),
      (err: { stdout?: string; stderr?: string; message: string }) =>
        `side-by-side.sh failed: ${(err.stderr || err.stdout || err.message).trim().split('\n').slice(-3).join(' | ')}`,
    );
    out.push(`Side by side with FastDFS 6.16.1 (native protocol, fdfs start; ${mode}):`, r, '');
  }
  return out.join('\n').trimEnd();
}
