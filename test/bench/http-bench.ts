/**
 * The HTTP section of `npm run bench`: direct-URL GET of 4 KB and 100 KB files and multipart POST
 * of 100 KB through the gateway of `fdfs start`, at 16 and 64 connections; then the 4 KB GET next
 * to nginx (one worker) serving the same bytes statically, run in turns so both see the same
 * machine. wrk drives the load when installed (it measures the server, not a Node client);
 * otherwise a keep-alive node:http client does, and the nginx comparison is skipped.
 *
 * bench.ts calls `httpSection(node, seconds)`; `node dist/test/bench/http-bench.js` runs it alone.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type RunningNode, startNode } from '../helpers/node-process.js';
import { removeFolder } from '../helpers/removal.js';
import { formatSize, type Row, table, timed } from './native-bench.js';

const run = promisify(execFile);
const CONCURRENCY = [16, 64];
const BOUNDARY = 'fdfsBenchBoundary7MA4YWxk';

export interface Load {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly body?: Buffer;
  readonly contentType?: string;
}

export async function which(cmd: string): Promise<boolean> {
  return run('sh', ['-c', `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
}

function multipart(size: number): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="b.bin"\r\n\r\n`),
    Buffer.alloc(size, 0x61),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** wrk for `seconds` at `c` connections; a non-2xx answer makes the figure worthless, so it throws. */
export async function wrk(
  load: Load,
  c: number,
  seconds: number,
  dir: string,
): Promise<{ ops: number; seconds: number }> {
  const args = ['-t2', `-c${c}`, `-d${seconds}s`, '--latency'];
  if (load.method === 'POST') {
    // Lua long strings would turn CRLF into LF, so the body is built from escaped pieces.
    const size = (load.body?.length ?? 0) - multipart(0).length;
    const head = `--${BOUNDARY}\\r\\nContent-Disposition: form-data; name=\\"file\\"; filename=\\"b.bin\\"\\r\\n\\r\\n`;
    const script = join(dir, `post-${size}.lua`);
    await writeFile(
      script,
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "${load.contentType}"\n` +
        `wrk.body = "${head}" .. string.rep("a", ${size}) .. "\\r\\n--${BOUNDARY}--\\r\\n"\n`,
    );
    args.push('-s', script);
  }
  const { stdout } = await run('wrk', [...args, load.url], { maxBuffer: 1 << 20 });
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  if (bad) throw new Error(`${load.method} ${load.url}: ${bad[1]} answers were not 2xx`);
  const m = /(\d+) requests in ([\d.]+)(m?s)/.exec(stdout);
  if (!m) throw new Error(`cannot read wrk output:\n${stdout}`);
  const secs = Number(m[2]) / (m[3] === 'ms' ? 1000 : 1);
  return { ops: Number(m[1]), seconds: secs };
}

/** The fallback when wrk is missing: keep-alive node:http loops (client-bound; figures are lower). */
export async function nodeLoad(
  load: Load,
  c: number,
  seconds: number,
): Promise<{ ops: number; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: c });
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const headers = load.body
        ? { 'Content-Type': load.contentType ?? '', 'Content-Length': String(load.body.length) }
        : {};
      const req = request(load.url, { method: load.method, agent, headers }, (res) => {
        res.resume();
        res.on('end', () =>
          (res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`${load.url}: ${res.statusCode}`)),
        );
      });
      req.on('error', reject);
      req.end(load.body);
    });
  try {
    return await timed(c, seconds, Number.MAX_SAFE_INTEGER, once);
  } finally {
    agent.destroy();
  }
}

async function uploadOne(origin: string, size: number): Promise<string> {
  const res = await fetch(`${origin}/upload`, {
    method: 'POST',
    body: multipart(size),
    headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
  });
  if (res.status !== 200) throw new Error(`upload for the bench failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { files: { url: string }[] }).files[0]?.url as string;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** nginx with one worker serving `dir` on a free port; stopped by its pid. */
async function startNginx(dir: string, root: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  const t = join(dir, 'tmp');
  await mkdir(t, { recursive: true });
  await writeFile(
    conf,
    `worker_processes 1;\ndaemon off;\npid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')};\n` +
      'events { worker_connections 1024; }\n' +
      `http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;\n` +
      `  client_body_temp_path ${t}; proxy_temp_path ${t}; fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};\n` +
      `  server { listen 127.0.0.1:${port}; root ${root}; } }\n`,
  );
  const child: ChildProcess = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/`).then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGQUIT');
      await exited;
    },
  };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** 4 KB GET at 16 connections, nginx and the gateway in turns; returns the lines to print. */
async function versusNginx(gatewayUrl: string, seconds: number, dir: string): Promise<string> {
  if (!(await which('nginx')))
    return 'nginx comparison skipped: nginx is not installed (apt-get install nginx)';
  const root = join(dir, 'www');
  await mkdir(root, { recursive: true });
  // nginx's worker runs as an unprivileged user: the (0700) temp folder must be readable.
  await chmod(dir, 0o755);
  const data = Buffer.from(await (await fetch(gatewayUrl)).arrayBuffer());
  await writeFile(join(root, 'f.jpg'), data);
  const nginx = await startNginx(dir, root);
  const ours: number[] = [];
  const theirs: number[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      const n = await wrk({ method: 'GET', url: `${nginx.url}/f.jpg` }, 16, seconds, dir);
      theirs.push(n.ops / n.seconds);
      const g = await wrk({ method: 'GET', url: gatewayUrl }, 16, seconds, dir);
      ours.push(g.ops / g.seconds);
    }
  } finally {
    await nginx.stop();
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' / ');
  return [
    `Direct-URL GET of ${formatSize(data.length)}, 16 connections, 3 rounds in turns (req/s):`,
    `  nginx, 1 worker, static file:  ${fmt(theirs)}   median ${median(theirs).toFixed(0)}`,
    `  fastdfs-ts gateway:            ${fmt(ours)}   median ${median(ours).toFixed(0)}`,
    `  ratio gateway/nginx (medians): ${(median(ours) / median(theirs)).toFixed(2)}  (aim ≥ 0.35)`,
  ].join('\n');
}

/** Every HTTP row; `node` is a running `fdfs start` (its gateway at node.http). */
export async function httpBench(node: RunningNode, seconds: number, dir: string): Promise<Row[]> {
  const origin = `http://${node.http.host}:${node.http.port}`;
  const useWrk = await which('wrk');
  const drive = (load: Load, c: number) => (useWrk ? wrk(load, c, seconds, dir) : nodeLoad(load, c, seconds));
  const rows: Row[] = [];
  for (const size of [4 * 1024, 100 * 1024]) {
    const url = await uploadOne(origin, size);
    await fetch(url).then((r) => r.arrayBuffer()); // into the small-file cache, as a hot file is
    for (const c of CONCURRENCY)
      rows.push({ op: 'http GET', size, concurrency: c, ...(await drive({ method: 'GET', url }, c)) });
  }
  const size = 100 * 1024;
  const post: Load = {
    method: 'POST',
    url: `${origin}/upload`,
    body: multipart(size),
    contentType: `multipart/form-data; boundary=${BOUNDARY}`,
  };
  for (const c of CONCURRENCY)
    rows.push({ op: 'http POST multipart', size, concurrency: c, ...(await drive(post, c)) });
  return rows;
}

/** The printed HTTP section: the table, then the nginx comparison (needs wrk and nginx). */
export async function httpSection(node: RunningNode, seconds: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fdfs-http-bench-'));
  try {
    const useWrk = await which('wrk');
    const rows = await httpBench(node, seconds, dir);
    const title = `HTTP gateway (load from ${useWrk ? 'wrk' : 'a node:http client: install wrk for server-bound figures'})`;
    const origin = `http://${node.http.host}:${node.http.port}`;
    const versus = useWrk
      ? await versusNginx(await uploadOne(origin, 4 * 1024), seconds, dir)
      : 'nginx comparison skipped: wrk is not installed (apt-get install wrk)';
    return `${table(title, rows)}\n\n${versus}`;
  } finally {
    await removeFolder(dir);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 2);
  const node = await startNode({ args: ['--set', 'durable_writes=true'] });
  try {
    process.stdout.write(`${await httpSection(node, seconds)}\n`);
  } finally {
    await node.stop();
  }
}
