/**
 * Clients that drop the connection in the middle of a multipart part, at every moment we can
 * provoke, never take the gateway (and the storage beside it) down, and leave no temp files.
 */

import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from './helpers/node-process.js';

let node: RunningNode;

beforeAll(async () => {
  node = await startNode();
});

afterAll(async () => {
  expect(await node?.stop()).toBe(0);
});

/** Sends a multipart request whose file part is cut after `partBytes` bytes, then resets. */
function cutUpload(partBytes: number, delayMs: number): Promise<void> {
  const boundary = 'xXcutXx';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const request = Buffer.from(
    `POST /upload HTTP/1.1\r\nHost: ${node.http.host}:${node.http.port}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n`,
  );
  return new Promise((resolve) => {
    const s = connect(node.http.port, node.http.host, () => {
      s.write(Buffer.concat([request, head, Buffer.alloc(partBytes, 0x41)]));
      setTimeout(() => {
        s.resetAndDestroy();
        resolve();
      }, delayMs);
    });
    s.on('error', () => resolve());
  });
}

describe('gateway under dropped uploads', () => {
  it('survives 60 uploads cut at different points and cleans up after them', async () => {
    const cuts: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) cuts.push(cutUpload((i * 7919) % 300_000, i % 3));
    await Promise.all(cuts);
    // Still alive and serving: a whole upload and its download work.
    const put = await fetch(`http://${node.http.host}:${node.http.port}/upload/ok.txt`, {
      method: 'PUT',
      body: 'still alive',
    });
    expect(put.status).toBe(200);
    const { fileId } = (await put.json()) as { fileId: string };
    expect(await (await fetch(`http://${node.http.host}:${node.http.port}/${fileId}`)).text()).toBe(
      'still alive',
    );
    expect(node.child.exitCode).toBeNull();
    // The cut uploads left nothing behind once the gateway noticed the resets.
    const tmp = join(node.base, 'storage', 'data', '.tmp');
    const deadline = Date.now() + 10_000;
    while ((await readdir(tmp)).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await readdir(tmp)).toEqual([]);
  });
});
