/**
 * Load for the S3 section of the bench: the same generator drives both sides of each comparison.
 * wrk when installed (a C client: the figures are the server's, not a Node client's, as in the HTTP
 * section), else keep-alive node:http loops. Every S3 request is presigned before its run starts,
 * so the bench's SigV4 signing never competes with the server for the (shared) cores; the server
 * still verifies every signature. The server's CPU time per request is read from /proc where there
 * is one: on a machine shared with other work it varies much less than requests per second.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { timed } from './native-bench.js';

const run = promisify(execFile);
const WRK_THREADS = 2;

export interface Load {
  readonly method: 'GET' | 'PUT' | 'POST';
  readonly origin: string;
  /** One target (path and query) for every request, or one per request (presigned PUTs). */
  readonly targets: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

export interface Measured {
  readonly ops: number;
  readonly seconds: number;
  /** Server CPU (user + system) per request in µs; undefined without /proc. */
  readonly cpuUs: number | undefined;
}

export async function hasWrk(): Promise<boolean> {
  return run('sh', ['-c', 'command -v wrk']).then(
    () => true,
    () => false,
  );
}

let ticksPerSecond: number | undefined;

/** utime + stime of `pid` in seconds, or undefined where /proc is missing. */
async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  ticksPerSecond ??= Number((await run('getconf', ['CLK_TCK']).catch(() => ({ stdout: '100' }))).stdout);
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
  const f = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (!f) return undefined;
  return (Number(f[11]) + Number(f[12])) / (ticksPerSecond || 100);
}

/** Lua string literal of `s` (bytes as decimal escapes where needed). */
function lua(s: string): string {
  return `"${s.replace(/[^\w ./:=%&?-]/g, (c) => `\\${c.charCodeAt(0)}`)}"`;
}

/**
 * A wrk script: the method, headers and body of `load`, and its targets taken in turn across
 * wrk's threads (thread k sends targets k, k+T, k+2T, …). Past the last target it sends an
 * unsigned request, which the endpoint refuses: the run then fails instead of re-sending a URL.
 */
async function wrkScript(load: Load, dir: string, name: string): Promise<string> {
  const list = join(dir, `${name}.targets`);
  await writeFile(list, `${load.targets.join('\n')}\n`);
  const headers = Object.entries(load.headers ?? {})
    .map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}\n`)
    .join('');
  let body = 'local body = nil\n';
  if (load.body) {
    const file = join(dir, `${name}.body`);
    await writeFile(file, load.body);
    body = `local f = io.open(${lua(file)}, "rb")\nlocal body = f:read("*a")\nf:close()\n`;
  }
  const script = join(dir, `${name}.lua`);
  await writeFile(
    script,
    // thread_no is a global: thread:set() writes the thread's globals, and a `local thread_no`
    // would shadow it (every thread then sent the same targets, so each PUT went out twice).
    `${headers}${body}local targets = {}\nthread_no = 0\nlocal next_i = nil\n` +
      `for line in io.lines(${lua(list)}) do targets[#targets + 1] = line end\n` +
      'local counter = 0\n' +
      'function setup(thread) thread:set("thread_no", counter); counter = counter + 1 end\n' +
      'function request()\n' +
      `  if next_i == nil then next_i = thread_no + 1 elseif #targets > 1 then next_i = next_i + ${WRK_THREADS} end\n` +
      '  local t = targets[#targets > 1 and next_i or 1]\n' +
      '  if t == nil then t = "/out-of-presigned-targets" end\n' +
      `  return wrk.format(${lua(load.method)}, t, nil, body)\n` +
      'end\n',
  );
  return script;
}

async function wrkRun(load: Load, c: number, seconds: number, dir: string, name: string) {
  const script = await wrkScript(load, dir, name);
  const args = [`-t${WRK_THREADS}`, `-c${Math.max(c, WRK_THREADS)}`, `-d${seconds}s`, '-s', script];
  const { stdout } = await run('wrk', [...args, `${load.origin}/`], { maxBuffer: 1 << 20 });
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  if (bad) {
    throw new Error(
      `${load.method} ${name}: ${bad[1]} answers were not 2xx` +
        (load.targets.length > 1 ? ` (or the ${load.targets.length} presigned targets ran out)` : ''),
    );
  }
  const m = /(\d+) requests in ([\d.]+)(m?s)/.exec(stdout);
  if (!m) throw new Error(`cannot read wrk output:\n${stdout}`);
  return { ops: Number(m[1]), seconds: Number(m[2]) / (m[3] === 'ms' ? 1000 : 1) };
}

/** The fallback without wrk: `c` keep-alive node:http loops (the client may then be the bottleneck). */
async function nodeRun(load: Load, c: number, seconds: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: c });
  const url = new URL(load.origin);
  const once = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const path = load.targets.length > 1 ? load.targets[i] : load.targets[0];
      if (path === undefined) throw new Error(`the ${load.targets.length} presigned targets ran out`);
      const headers = {
        ...load.headers,
        ...(load.body ? { 'content-length': String(load.body.length) } : {}),
      };
      const req = request(
        { host: url.hostname, port: url.port, path, method: load.method, agent, headers },
        (res) => {
          res.resume();
          res.on('end', () =>
            (res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`${path}: ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(load.body);
    });
  try {
    return await timed(c, seconds, Number.MAX_SAFE_INTEGER, once);
  } finally {
    agent.destroy();
  }
}

/** One run of `load`; `pid` is the server's, for its CPU time. */
export async function drive(
  load: Load,
  c: number,
  seconds: number,
  o: { readonly wrk: boolean; readonly dir: string; readonly name: string; readonly pid: number | undefined },
): Promise<Measured> {
  const before = await cpuSeconds(o.pid);
  const r = o.wrk ? await wrkRun(load, c, seconds, o.dir, o.name) : await nodeRun(load, c, seconds);
  const after = await cpuSeconds(o.pid);
  const cpuUs =
    before === undefined || after === undefined || r.ops === 0 ? undefined : ((after - before) * 1e6) / r.ops;
  return { ...r, cpuUs };
}
