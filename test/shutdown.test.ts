/**
 * Ctrl-C: `fdfs start` stops cleanly on SIGINT (every other test stops it with SIGTERM): exit
 * status 0, every port closed, the pid file removed, even with a client connection left open.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exists, removeDirs } from './helpers/cluster.js';
import { listeningSockets } from './helpers/listening.js';
import { type RunningNode, startNode, tempDir } from './helpers/node-process.js';
import { openRaw } from './helpers/raw-peer.js';

let node: RunningNode | undefined;
let base = '';

afterAll(async () => {
  await node?.stop();
  await removeDirs([base]);
});

/** Whether something accepts a TCP connection at `addr`. */
function accepts(addr: { host: string; port: number }): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(addr, () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

describe('fdfs start and SIGINT', () => {
  it('exits 0, closes every port and removes its pid file', async () => {
    base = await tempDir('fdfs-sigint-');
    node = await startNode({ base });
    const pid = node.child.pid ?? 0;
    const pidFile = join(base, 'fdfs.pid');
    expect((await readFile(pidFile, 'utf8')).trim()).toBe(String(pid));
    const ports = [node.tracker, node.storage, node.http, node.s3];
    expect((await listeningSockets(pid)).map((l) => l.port).sort()).toEqual(ports.map((p) => p.port).sort());
    // An idle client connection must not hold the shutdown up.
    const idle = await openRaw(node.storage.host, node.storage.port);
    idle.on('error', () => {});
    const idleClosed = new Promise<void>((res) => idle.once('close', () => res()));

    expect(await node.stop('SIGINT')).toBe(0);
    expect(node.child.signalCode).toBeNull();
    await idleClosed;
    for (const addr of ports) expect(await accepts(addr)).toBe(false);
    expect(await exists(pidFile)).toBe(false);
    expect(node.stderr.join('\n')).toContain('"signal":"SIGINT"');
  });
});

describe('fdfs start and a supervisor that signals at once', () => {
  // Node puts its signal handler in place a few ms after the first listener is added: a ready
  // line printed before that let a SIGTERM sent on reading it kill the process outright.
  it('handles a SIGTERM sent the moment the ready line is read: exit 0, every time', async () => {
    const codes: (number | null)[] = [];
    for (let i = 0; i < 8; i++) {
      const quick = await startNode();
      codes.push(await quick.stop('SIGTERM'));
    }
    expect(codes).toEqual(Array(8).fill(0));
  }, 60_000);
});
