/** Starts `fdfs start` (the built CLI) as a child process on ephemeral ports, for end-to-end tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { FdfsClient } from '../../src/client/index.js';
import { defaultClientConfig } from '../../src/config/index.js';
import { removeFolder } from './removal.js';

/** The repository root, whether this file runs from test/ (vitest) or dist/test/ (the bench). */
export const ROOT = existsSync(resolve(import.meta.dirname, '../../package.json'))
  ? resolve(import.meta.dirname, '../..')
  : resolve(import.meta.dirname, '../../..');
export const CLI = resolve(ROOT, 'dist/src/cli/main.js');

export interface RunningNode {
  readonly child: ChildProcess;
  readonly base: string;
  readonly tracker: { host: string; port: number };
  readonly storage: { host: string; port: number };
  /** The HTTP gateway (`http=` in the ready line). */
  readonly http: { host: string; port: number };
  /** The S3 endpoint (`s3=` in the ready line). */
  readonly s3: { host: string; port: number };
  /** Every stdout line before the ready line (e.g. the S3 credential made at first start). */
  readonly stdout: string[];
  /** Everything the process wrote to stderr (its JSON log lines). */
  readonly stderr: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function tempDir(prefix = 'fdfs-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

function hostPort(s: string | undefined): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(s ?? '');
  if (!m?.[1] || !m[2]) throw new Error(`bad address ${s}`);
  return { host: m[1], port: Number(m[2]) };
}

export async function startNode(
  opts: { base?: string; args?: string[]; bind?: string; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningNode> {
  const base = opts.base ?? (await tempDir());
  const args = [
    ...(opts.nodeArgs ?? []),
    CLI,
    'start',
    '--base-path',
    base,
    '--tracker-port',
    '0',
    '--storage-port',
    '0',
    '--http-port',
    '0',
    '--s3-port',
    '0',
  ];
  if (opts.bind) args.push('--bind', opts.bind);
  const child = spawn(process.execPath, [...args, ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const stdout: string[] = [];
  const ready = await new Promise<string>((res, rej) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      if (line.startsWith('fdfs ready')) res(line);
      else stdout.push(line);
    });
    void exited.then((code) => rej(new Error(`fdfs start exited with ${code}: ${stderr.join('\n')}`)));
  });
  const fields = Object.fromEntries(
    ready
      .split(' ')
      .slice(2)
      .map((kv) => kv.split('=') as [string, string]),
  );
  return {
    child,
    base,
    stderr,
    tracker: hostPort(fields.tracker),
    storage: hostPort(fields.storage),
    http: hostPort(fields.http),
    s3: hostPort(fields.s3),
    stdout,
    /** Stops the process; a data folder this helper made is removed afterwards. */
    async stop(signal = 'SIGTERM') {
      const running = child.exitCode === null && child.signalCode === null;
      if (running) child.kill(signal);
      const code = running ? await exited : child.exitCode;
      if (opts.base === undefined) await removeFolder(base);
      return code;
    },
  };
}

/** Polls `fn` until it resolves, for states that settle asynchronously (a storage becoming ACTIVE). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/** A logger for the npm `fdfs` client, which otherwise prints every packet to stdout. */
export const quiet = { log() {} };

/** A client of the node's tracker, returned once the node takes an upload (its storage joined). */
export async function readyClient(node: RunningNode): Promise<FdfsClient> {
  const client = new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]]])).config,
  );
  await eventually(() => client.upload(Buffer.from('warm-up')));
  return client;
}
