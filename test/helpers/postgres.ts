/**
 * A throwaway PostgreSQL cluster for tests and the bench: initdb in a temp folder, pg_ctl on a free
 * loopback port with trust auth, stopped and removed at the end. Debian's server binaries live in
 * /usr/lib/postgresql/<version>/bin (not on PATH); initdb refuses to run as root, so as root the
 * cluster belongs to the `postgres` user (made by the Debian package) and runs through runuser.
 * FDFS_SKIP_POSTGRES=1 skips the tests that need it; otherwise a missing server fails them.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './node-process.js';
import { removeFolder } from './removal.js';

const run = promisify(execFile);

/** The folder holding initdb and pg_ctl: PATH first, then Debian's newest server version. */
export function postgresBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

export function postgresSkipReason(): string | undefined {
  if (process.env.FDFS_SKIP_POSTGRES === '1') return 'FDFS_SKIP_POSTGRES=1';
  return undefined;
}

export interface TestPostgres {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres, with `?schema=` when given. */
  url(schema?: string): string;
  /** Stops the server (fast shutdown: sessions are cut), keeping its data. */
  pause(): Promise<void>;
  /**
   * Kills every server process at once (immediate shutdown), keeping its data: WAL still in the
   * server's buffers is lost, and the next start recovers from what reached the log files.
   */
  crash(): Promise<void>;
  /** Starts it again on the same port and data. */
  resume(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
  /**
   * CPU seconds (user + system) the server's processes used so far: the postmaster, its live
   * children and those it reaped (the bench adds the database's cost to the gateway's).
   */
  cpuSeconds(): Promise<number>;
}

/** /proc counts CPU time in USER_HZ ticks, 100 a second on Linux. */
const TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the command name, or undefined when the process is gone. */
async function statOf(pid: string | number): Promise<string[] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime (+ cutime + cstime for the postmaster) of every process of the cluster. */
async function clusterCpu(postmaster: number): Promise<number> {
  let ticks = 0;
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = await statOf(d);
    // f[1]: parent pid; f[11..14]: utime, stime, cutime, cstime.
    if (!f) continue;
    if (Number(d) === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

export interface PostgresOptions {
  /** true: fsync and synchronous commit on (the bench compares durable stores). Default false. */
  readonly durable?: boolean;
  /** More server settings, `name=value`. */
  readonly settings?: readonly string[];
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((done) => srv.listen(0, '127.0.0.1', done));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((done) => srv.close(() => done()));
  return port;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      'PostgreSQL server binaries not found (apt-get install postgresql, or FDFS_SKIP_POSTGRES=1)',
    );
  }
  const asRoot = userInfo().uid === 0;
  const dir = await tempDir('fdfs-pg-');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const as = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args);
  await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const settings = [
    '-c listen_addresses=127.0.0.1',
    `-k ${dir}`,
    '-c max_connections=200',
    '-c shared_buffers=32MB',
    ...(opts.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ...(opts.settings ?? []).map((kv) => `-c ${kv}`),
  ];
  let port = 0;
  const start = async () => {
    await as('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} ${settings.join(' ')}`,
      'start',
    ]);
  };
  // A port found free may be taken by the time the server binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  const stopServer = (mode: string) => as('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']).catch(() => {});
  return {
    port,
    url: (schema) => `postgres://postgres@127.0.0.1:${port}/postgres${schema ? `?schema=${schema}` : ''}`,
    pause: async () => {
      await stopServer('fast');
    },
    crash: async () => {
      await stopServer('immediate');
    },
    resume: start,
    async stop() {
      await stopServer('immediate');
      await removeFolder(dir);
    },
    async cpuSeconds() {
      const pid = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
      return clusterCpu(pid);
    },
  };
}
