/**
 * A throwaway PostgreSQL cluster for tests and the bench: initdb in a temp folder, pg_ctl on a free
 * loopback port with trust auth, stopped and removed at the end. Debian's server binaries live in
 * /usr/lib/postgresql/<version>/bin (not on PATH); initdb refuses to run as root, so as root the
 * cluster belongs to the `postgres` user (made by the Debian package) and runs through runuser.
 * FDFS_SKIP_POSTGRES=1 skips the tests that need it; otherwise a missing server fails them.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './node-process.js';

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
  /** Starts it again on the same port and data. */
  resume(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** true: fsync and synchronous commit on (the bench compares durable stores). Default false. */
  readonly durable?: boolean;
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
    resume: start,
    async stop() {
      await stopServer('immediate');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
