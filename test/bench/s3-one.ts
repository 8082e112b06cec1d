/**
 * One side of an S3 comparison alone on a node of its own, for profiling one path:
 * `node dist/test/bench/s3-one.js fresh|get|direct|put|post 64` prints the rate and the server CPU
 * per request of BENCH_SECONDS of load. S3_QUICK_PROF=dir starts the node with --cpu-prof into dir.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode } from '../helpers/node-process.js';
import { credentialOf, ok, S3Urls } from './s3-bench.js';
import { drive, hasWrk, type Load } from './s3-load.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const what = process.argv[2] ?? 'get';
const c = Number(process.argv[3] ?? 64);
const prof = process.env.S3_QUICK_PROF;
const node = await startNode({
  args: ['--set', 'durable_writes=true'],
  ...(prof ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${prof}`] } : {}),
});
const dir = await mkdtemp(join(tmpdir(), 'fdfs-s3-one-'));
const agent = new Agent({ keepAlive: true });
try {
  const [ak, sk] = await credentialOf(node);
  const s3 = new S3Urls(node, ak, sk);
  const s3Origin = `http://${node.s3.host}:${node.s3.port}`;
  const origin = `http://${node.http.host}:${node.http.port}`;
  await ok(agent, { method: 'PUT', url: await s3.url('PUT', '/bench') });
  const small = Buffer.alloc(4 * 1024, 0x62);
  await ok(agent, { method: 'PUT', url: await s3.url('PUT', '/bench/small.bin'), body: small });
  const getTarget = await s3.target('GET', '/bench/small.bin');
  const fileId = await new Promise<string>((resolve, reject) => {
    request(`${s3Origin}${getTarget}`, { agent }, (res) => {
      res.resume();
      resolve(String(res.headers['x-fdfs-file-id']));
    })
      .on('error', reject)
      .end();
  });
  await ok(agent, { method: 'GET', url: `${origin}/${fileId}` });
  const put = Buffer.alloc(100 * 1024, 0x61);
  const n = Math.max(20_000, seconds * 20_000);
  const many = async (method: string, path: (i: number) => string, expires: (i: number) => number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await s3.target(method, path(i), {}, expires(i)));
    return out;
  };
  const loads: Record<string, () => Promise<Load>> = {
    get: async () => ({ method: 'GET', origin: s3Origin, targets: [getTarget] }),
    direct: async () => ({ method: 'GET', origin, targets: [`/${fileId}`] }),
    fresh: async () => ({
      method: 'GET',
      origin: s3Origin,
      targets: await many(
        'GET',
        () => '/bench/small.bin',
        (i) => 3600 + i,
      ),
    }),
    put: async () => ({
      method: 'PUT',
      origin: s3Origin,
      targets: await many(
        'PUT',
        (i) => `/bench/p-${i}.bin`,
        () => 3600,
      ),
      body: put,
    }),
  };
  const make = loads[what];
  if (!make) throw new Error(`unknown ${what}`);
  const o = { wrk: await hasWrk(), dir, pid: node.child.pid };
  await drive(await make(), c, 1, { ...o, name: 'warm' });
  const load = await make();
  // S3_ONE_STRACE=file: the node's system calls during the run, counted (strace -c -f).
  const traceTo = process.env.S3_ONE_STRACE;
  const tracer = traceTo
    ? spawn('strace', ['-c', '-f', '-o', traceTo, '-p', String(node.child.pid)], { stdio: 'ignore' })
    : undefined;
  if (tracer) await new Promise((r) => setTimeout(r, 500));
  const m = await drive(load, c, seconds, { ...o, name: 'run' });
  if (tracer) {
    const done = new Promise((r) => tracer.once('exit', r));
    tracer.kill('SIGINT');
    await done;
  }
  process.stdout.write(
    `${what} ${c} conn: ${Math.round(m.ops / m.seconds)}/s, ${m.ops} requests, server CPU ${m.cpuUs?.toFixed(1)} µs per request\n`,
  );
} finally {
  agent.destroy();
  await rm(dir, { recursive: true, force: true });
  await node.stop();
}
