/**
 * A short fuzz run with a fixed seed (`npm run fuzz` is the long one): 20 seconds of mutated
 * tracker, storage and gateway requests must crash nothing, and after every batch the node
 * must still serve and its files match their ids. Plus the crashes fuzzing found, each as a
 * request of its own.
 */
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { KNOWN_CRASHES } from './fuzz/known.js';
import { runFuzz } from './fuzz/run.js';
import { type RunningNode, startNode } from './helpers/node-process.js';

let node: RunningNode | undefined;
afterAll(async () => {
  await node?.stop();
});

describe('fuzzing', () => {
  it('20 s of seeded mutations: no crash, node serves after every batch, files match their ids', async () => {
    const r = await runFuzz({
      seed: 20_260_806,
      packets: 1e9,
      http: 1e9,
      minutes: 20 / 60,
      batch: 400,
      concurrency: 8,
    });
    expect(r.crashes.map((c) => c.signature)).toEqual([]);
    expect(r.checkFailures).toEqual([]);
    expect(r.hangs.map((h) => h.how)).toEqual([]);
    expect(r.batches).toBeGreaterThan(0);
    expect(r.packets).toBeGreaterThan(0);
    expect(r.requests).toBeGreaterThan(0);
    // Every status code is one an HTTP client can read; 5xx would mean an unhandled path.
    expect(r.serverErrors.filter((e) => !e.startsWith('503'))).toEqual([]);
  }, 180_000);

  it('a multipart part without a name is a 400, not the end of the process', async () => {
    node = await startNode();
    const body = '--XyZ\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--XyZ--\r\n';
    const r = await fetch(`http://${node.http.host}:${node.http.port}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      body,
    });
    expect(r.status).toBe(400);
    await r.arrayBuffer();
    const health = await fetch(`http://${node.http.host}:${node.http.port}/healthz`);
    expect(health.status).toBe(200);
    expect(node.child.exitCode).toBeNull();
  });

  it('a Host header that is no host is a 400, not a 500', async () => {
    node ??= await startNode();
    const reply = await new Promise<string>((resolve) => {
      const s = connect(node?.http ?? { host: '', port: 0 });
      let d = '';
      s.on('data', (c: Buffer) => {
        d += c.toString('latin1');
      });
      s.on('close', () => resolve(d));
      s.write('GET /healthz HTTP/1.1\r\nHost: -27.0.0.1\r\nConnection: close\r\n\r\n');
    });
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
  });

  it('tolerates no crash without a reason', () => {
    for (const k of KNOWN_CRASHES) expect(k.reason.length).toBeGreaterThan(10);
  });
});
