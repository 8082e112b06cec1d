/**
 * The gateway of a real `fdfs start`, spoken to byte by byte over raw sockets: clients that hang
 * up mid-upload, HTTP/1.0 without Host, methods a file URL does not take, and the storage's own
 * counters for what went through the gateway.
 */
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type RunningNode, startNode } from './helpers/node-process.js';

let node: RunningNode;
let url: string;

beforeAll(async () => {
  node = await startNode();
  url = `http://${node.http.host}:${node.http.port}`;
});

afterAll(async () => {
  expect(await node?.stop()).toBe(0);
});

/** A PUT announcing 100000 bytes that sends 1000 and is destroyed at once (or a moment later). */
function hangUpPut(i: number): Promise<void> {
  const head =
    `PUT /upload/cut-${i}.bin HTTP/1.1\r\nHost: ${node.http.host}:${node.http.port}\r\n` +
    'Content-Length: 100000\r\n\r\n';
  return new Promise((resolve) => {
    const s = connect(node.http.port, node.http.host, () => {
      s.write(Buffer.concat([Buffer.from(head), Buffer.alloc(1000, 0x42)]));
      const kill = () => {
        s.destroy();
        resolve();
      };
      // Several moments: before the store has opened its temp file, and while it writes.
      if (i % 3 === 0) kill();
      else if (i % 3 === 1) setImmediate(kill);
      else setTimeout(kill, i % 5);
    });
    s.on('error', () => resolve());
  });
}

async function tempFiles(): Promise<string[]> {
  return readdir(join(node.base, 'storage', 'data', '.tmp'));
}

describe('clients that hang up mid-PUT', () => {
  it('never take the node down and leave no temp file', async () => {
    // One at a time: the unhandled error needed the hang-up to land in a short window.
    for (let i = 0; i < 60 && node.child.exitCode === null; i++) await hangUpPut(i);
    expect(node.child.exitCode).toBeNull();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const put = await fetch(`${url}/upload/after.txt`, { method: 'PUT', body: 'after the hang-ups' });
    expect(put.status).toBe(200);
    const { fileId } = (await put.json()) as { fileId: string };
    expect(await (await fetch(`${url}/${fileId}`)).text()).toBe('after the hang-ups');
    await eventually(async () => expect(await tempFiles()).toEqual([]), 10_000);
  });
});
