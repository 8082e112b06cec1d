/** Runs the built `fdfs` CLI and its FastDFS-named alias entries as child processes. */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CLI } from './node-process.js';

export const ALIAS_DIR = resolve(CLI, '../aliases');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  /** stdout as text. */
  readonly out: string;
}

/** `node <script> ...args`, collecting stdout (bytes), stderr and the exit code. */
export function runScript(script: string, args: readonly string[], cwd?: string): Promise<CliResult> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(cwd ? { cwd } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', rej);
    child.once('close', (code) => {
      const stdout = Buffer.concat(out);
      res({ code, stdout, out: stdout.toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** `fdfs ...args`. */
export function fdfs(args: readonly string[], cwd?: string): Promise<CliResult> {
  return runScript(CLI, args, cwd);
}

/** A FastDFS-named alias, e.g. `alias('fdfs_upload_file', [conf, file])`. */
export function alias(name: string, args: readonly string[], cwd?: string): Promise<CliResult> {
  return runScript(join(ALIAS_DIR, `${name.replaceAll('_', '-')}.js`), args, cwd);
}

/** A client.conf in `dir` pointing at `tracker`; returns its path. */
export async function writeClientConf(dir: string, tracker: { host: string; port: number }): Promise<string> {
  const path = join(dir, 'client.conf');
  await writeFile(
    path,
    [
      '# client.conf written by the CLI tests',
      'connect_timeout = 5',
      'network_timeout = 30',
      `base_path = ${join(dir, 'client')}`,
      `tracker_server = ${tracker.host}:${tracker.port}`,
      'log_level = info',
      '',
    ].join('\n'),
  );
  return path;
}
