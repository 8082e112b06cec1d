/**
 * A port in use at start, for each role of `fdfs start`: one line on stderr naming the role and
 * the address, EADDRINUSE (98) as exit status, the process gone (not half started with the tracker
 * still listening) and no pid file left behind.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, tempDir } from './helpers/node-process.js';

const HOST = '127.0.0.1';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, HOST, () => resolve(s));
  });
}

function close(s: Server): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** Three ports that were free a moment ago. */
async function freePorts(): Promise<number[]> {
  const servers = await Promise.all([listen(0), listen(0), listen(0)]);
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map(close));
  return ports;
}

/** `fdfs start …`; a process still running after `ms` is killed and reported with code null. */
function run(args: string[], ms = 15_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, ms);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: hung ? null : code, stderr });
    });
  });
}

describe('fdfs start with a port in use', () => {
  for (const role of ['tracker', 'storage', 'gateway'] as const) {
    it(`the ${role} port: one line, exit 98, nothing left running, no pid file`, async () => {
      const [tracker, storage, http] = (await freePorts()) as [number, number, number];
      const busyPort = { tracker, storage, gateway: http }[role];
      const busy = await listen(busyPort);
      const base = await tempDir();
      try {
        const r = await run([
          'start',
          '--base-path',
          base,
          '--bind',
          HOST,
          '--tracker-port',
          String(tracker),
          '--storage-port',
          String(storage),
          '--http-port',
          String(http),
        ]);
        // Exited by itself (a half-started process would be killed and give null).
        expect(r.code).toBe(98);
        // JSON log lines may come first; the failure itself is one plain line, no stack trace.
        const plain = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
        expect(plain).toEqual([
          `fdfs: ${role} cannot listen on ${HOST}:${busyPort}: the port is in use (EADDRINUSE)`,
        ]);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(existsSync(join(base, 'fdfs.pid'))).toBe(false);
        // What did start was closed: the ports it held can be taken again at once.
        for (const port of [tracker, storage, http].filter((p) => p !== busyPort)) {
          await close(await listen(port));
        }
      } finally {
        await close(busy);
        await rm(base, { recursive: true, force: true });
      }
    });
  }
});
