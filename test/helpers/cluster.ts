/**
 * Real `fdfs tracker` / `fdfs storage` processes for replication tests: each role in its own
 * process, each storage on its own 127.0.0.x address, ports chosen by the processes (port 0)
 * and read from their `fdfs ready` line. Short intervals come in through --set.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI, tempDir } from './node-process.js';

export interface Proc {
  readonly role: 'tracker' | 'storage';
  readonly child: ChildProcess;
  readonly host: string;
  readonly port: number;
  readonly base: string;
  readonly stderr: string[];
  /** The gateway beside a storage started with `--http-port`. */
  readonly http?: { host: string; port: number };
  /** SIGTERM and wait (a clean shutdown). */
  stop(): Promise<void>;
  /** SIGKILL and wait: no shutdown code runs. */
  kill9(): Promise<void>;
}

/** Fast timings for tests: beats every 100 ms, sync polls every 20 ms. */
export const FAST_STORAGE = [
  'heart_beat_interval=100ms',
  'stat_report_interval=500ms',
  'sync_wait_msec=20',
  'connect_timeout=2',
  'network_timeout=10',
  'durable_writes=false',
  'subdir_count_per_path=4',
  'log_level=warn',
];
export const FAST_TRACKER = [
  'check_active_interval=2',
  'store_lookup=0',
  'reserved_storage_space=0',
  'network_timeout=10',
  'log_level=warn',
];

/** Defaults overridden by key: a key given in `sets` replaces the default's value. */
function merge(defaults: readonly string[], sets: readonly string[]): string[] {
  const keys = new Set(sets.map((x) => x.slice(0, x.indexOf('='))));
  return [...defaults.filter((d) => !keys.has(d.slice(0, d.indexOf('=')))), ...sets];
}

async function spawnRole(
  role: 'tracker' | 'storage',
  conf: string,
  base: string,
  host: string,
  sets: readonly string[],
  extraArgs: readonly string[] = [],
  wrap: readonly string[] = [],
): Promise<Proc> {
  await mkdir(base, { recursive: true });
  const confPath = join(base, `${role}.conf`);
  await writeFile(confPath, conf);
  const args = [CLI, role, confPath, ...extraArgs, ...sets.flatMap((s) => ['--set', s])];
  // A wrapper (strace) runs node as its child; signals then go to node, the wrapper follows it out.
  const [cmd = process.execPath, ...pre] = wrap.length > 0 ? [...wrap, process.execPath] : [];
  const child = spawn(cmd, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const signal = async (sig: NodeJS.Signals) => {
    if (wrap.length === 0 || child.pid === undefined) {
      child.kill(sig);
      return;
    }
    const kids = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
    for (const pid of kids.trim().split(/\s+/).filter(Boolean)) process.kill(Number(pid), sig);
  };
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const line = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      if (l.startsWith('fdfs ready')) res(l);
    });
    void exited.then(() => rej(new Error(`fdfs ${role} exited early:\n${stderr.join('\n')}`)));
  });
  const m = new RegExp(`${role}=(\\S+):(\\d+)`).exec(line);
  const h = /http=(\S+):(\d+)/.exec(line);
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    role,
    child,
    host,
    port: Number(m?.[2]),
    base,
    stderr,
    ...(h?.[1] && h[2] ? { http: { host: h[1], port: Number(h[2]) } } : {}),
    async stop() {
      if (gone()) return;
      await signal('SIGTERM');
      await exited;
    },
    async kill9() {
      if (gone()) return;
      await signal('SIGKILL');
      await exited;
    },
  };
}

export async function startTrackerProc(
  opts: { base?: string; host?: string; port?: number; sets?: readonly string[] } = {},
): Promise<Proc> {
  const base = opts.base ?? (await tempDir('fdfs-trk-'));
  const host = opts.host ?? '127.0.0.1';
  const conf = `base_path = ${base}\nport = ${opts.port ?? 0}\nbind_addr = ${host}\n`;
  return spawnRole('tracker', conf, base, host, merge(FAST_TRACKER, opts.sets ?? []));
}

export interface StorageOpts {
  readonly host: string;
  readonly group: string;
  readonly trackers: readonly { host: string; port: number }[];
  readonly base?: string;
  readonly port?: number;
  readonly sets?: readonly string[];
  /** Run the HTTP gateway beside the storage on this port (0 = any). */
  readonly httpPort?: number;
  /** A command that runs the node process, e.g. strace and its options. */
  readonly wrap?: readonly string[];
}

export async function startStorageProc(opts: StorageOpts): Promise<Proc> {
  const base = opts.base ?? (await tempDir('fdfs-sto-'));
  const conf = [
    `base_path = ${base}`,
    `group_name = ${opts.group}`,
    `bind_addr = ${opts.host}`,
    `port = ${opts.port ?? 0}`,
    ...opts.trackers.map((t) => `tracker_server = ${t.host}:${t.port}`),
    '',
  ].join('\n');
  const extra = opts.httpPort === undefined ? [] : ['--http-port', String(opts.httpPort)];
  return spawnRole('storage', conf, base, opts.host, merge(FAST_STORAGE, opts.sets ?? []), extra, opts.wrap);
}

/**
 * Every stored file of a storage, relative name (`M00/HH/LL/name`, sidecars included) → content
 * hash, read straight from its store path: what "holds exactly the same files" compares.
 */
export async function storedFiles(base: string): Promise<Map<string, string>> {
  const { createHash } = await import('node:crypto');
  const out = new Map<string, string>();
  const data = join(base, 'data');
  for (const hi of await readdir(data).catch(() => [] as string[])) {
    if (!/^[0-9A-F]{2}$/.test(hi)) continue;
    for (const lo of await readdir(join(data, hi))) {
      for (const name of await readdir(join(data, hi, lo))) {
        const content = await readFile(join(data, hi, lo, name));
        out.set(`M00/${hi}/${lo}/${name}`, createHash('sha1').update(content).digest('hex'));
      }
    }
  }
  return out;
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function removeDirs(dirs: readonly string[]): Promise<void> {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
