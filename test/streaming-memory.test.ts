/**
 * Bodies stream between socket and disk: a file far larger than the memory the node uses moves
 * through the native protocol and the gateway while the process's peak RSS stays small.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { eventually, type RunningNode, startNode } from './helpers/node-process.js';

const SIZE = 512 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, 0x61);

let node: RunningNode;
let client: FdfsClient;

/** Peak resident memory of the node process, from /proc (Linux). */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

function body(size: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return this.push(null);
      const n = Math.min(CHUNK.length, size - sent);
      sent += n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

beforeAll(async () => {
  // No fsyncs: only memory is measured here, and the gateway must accept a file this large.
  node = await startNode({ args: ['--set', 'durable_writes=false', '--set', 'http.upload.max_size=1GB'] });
  client = new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]]])).config,
  );
  await eventually(() => client.upload(Buffer.from('warm-up')));
});

afterAll(async () => {
  await client?.close();
  await node?.stop();
});

describe('streaming keeps memory flat', () => {
  it('a 512 MB file goes up and down the native protocol and the gateway without buffering', async () => {
    const pid = node.child.pid as number;
    const before = await peakRssMb(pid);

    const id = await client.upload({ stream: body(SIZE), size: SIZE }, { ext: 'bin' });
    let down = 0;
    for await (const c of await client.download(id)) down += (c as Buffer).length;
    expect(down).toBe(SIZE);

    const http = node.http;
    expect(http).toBeDefined();
    const put = await fetch(`http://${http?.host}:${http?.port}/upload/big.bin`, {
      method: 'PUT',
      body: Readable.toWeb(body(SIZE)) as ReadableStream,
      headers: { 'content-length': String(SIZE) },
      duplex: 'half',
    } as RequestInit);
    expect(put.status).toBe(200);
    const { fileId } = (await put.json()) as { fileId: string };
    const got = await fetch(`http://${http?.host}:${http?.port}/${fileId}`);
    let viaHttp = 0;
    for await (const c of got.body as unknown as AsyncIterable<Uint8Array>) viaHttp += c.length;
    expect(viaHttp).toBe(SIZE);

    // 2 GB moved in total; the node's peak RSS grows by far less than one file.
    const after = await peakRssMb(pid);
    expect(after - before).toBeLessThan(128);
    await client.delete(id);
    await client.delete(fileId);
  }, 120_000);
});
