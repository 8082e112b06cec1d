/**
 * Wire compatibility, proven with a FastDFS client nobody here wrote (npm `fdfs`) against the real
 * `fdfs start` process on ephemeral ports.
 */
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import FdfsClient from 'fdfs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, quiet, type RunningNode, startNode } from './helpers/node-process.js';

let node: RunningNode;
let client: FdfsClient;

function collect(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

async function download(fileId: string, offset?: number, bytes?: number): Promise<Buffer> {
  const { sink, bytes: got } = collect();
  await client.download(fileId, { target: sink, ...(offset ? { offset } : {}), ...(bytes ? { bytes } : {}) });
  return got();
}

function content(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

beforeAll(async () => {
  node = await startNode();
  client = new FdfsClient({ trackers: [node.tracker], timeout: 10_000, logger: quiet });
  // The storage becomes writable once it has joined and reported to the tracker.
  await eventually(async () => {
    const id = await client.upload(Buffer.from('warm-up'), { ext: 'txt' });
    await client.del(id);
  });
}, 30_000);

afterAll(async () => {
  expect(await node?.stop()).toBe(0);
});

describe('npm fdfs client against fdfs start', () => {
  it('uploads a buffer and downloads it whole, by range, and gets its file info', async () => {
    const data = content(82_983, 7);
    const id = await client.upload(data, { ext: 'png' });
    expect(id).toMatch(/^group1\/M00\/[0-9A-F]{2}\/[0-9A-F]{2}\/[A-Za-z0-9_-]{27}\d{3}\.png$/);
    expect((await download(id)).equals(data)).toBe(true);
    expect((await download(id, 1000, 5000)).equals(data.subarray(1000, 6000))).toBe(true);
    const info = await client.getFileInfo(id);
    expect(info.size).toBe(data.length);
    expect(info.crc32).toBe(crc32(data));
    expect(info.addr).toBe('127.0.0.1');
  });

  it('uploads a local file and a stream with its size', async () => {
    const data = content(300_000, 3);
    const path = join(node.base, 'local-upload.bin');
    await writeFile(path, data);
    const fromFile = await client.upload(path);
    expect((await download(fromFile)).equals(data)).toBe(true);

    const stream = new PassThrough();
    const pending = client.upload(stream, { size: data.length, ext: 'bin' });
    Readable.from([data.subarray(0, 1000), data.subarray(1000)]).pipe(stream);
    const fromStream = await pending;
    expect(fromStream.endsWith('.bin')).toBe(true);
    expect((await download(fromStream)).equals(data)).toBe(true);
    const viaRead = await client.upload(createReadStream(path), { size: data.length, ext: 'dat' });
    expect((await download(viaRead)).equals(data)).toBe(true);
  });

  it('sets, merges and gets metadata', async () => {
    const id = await client.upload(Buffer.from('meta'), { ext: 'txt' });
    await client.setMetaData(id, { width: '1024', height: '768' });
    expect(await client.getMetaData(id)).toEqual({ width: '1024', height: '768' });
    await client.setMetaData(id, { height: '600', author: '张三' }, 'M');
    expect(await client.getMetaData(id)).toEqual({ width: '1024', height: '600', author: '张三' });
    await client.setMetaData(id, { only: 'this' }, 'O');
    expect(await client.getMetaData(id)).toEqual({ only: 'this' });
  });

  it('uploads an appender file, appends to it and modifies it', async () => {
    const id = await client.upload(Buffer.from('hello '), { method: 'uploadAppender', ext: 'log' });
    await client.upload(Buffer.from('world'), { method: 'append', fileId: id, size: 5 });
    expect((await download(id)).toString()).toBe('hello world');
    await client.upload(Buffer.from('WORLD'), { method: 'modify', fileId: id, offset: 6, size: 5 });
    expect((await download(id)).toString()).toBe('hello WORLD');
    const info = await client.getFileInfo(id);
    expect(info.size).toBe(11);
    expect(info.crc32).toBe(crc32(Buffer.from('hello WORLD')));
  });

  it('deletes, and a missing file is a clear error', async () => {
    const id = await client.upload(Buffer.from('bye'), { ext: 'txt' });
    await client.del(id);
    await expect(download(id)).rejects.toThrow('errno is: 2');
    await expect(client.del(id)).rejects.toThrow('errno is: 2');
    await expect(client.getFileInfo(id)).rejects.toThrow('errno is: 2');
  });

  it('keeps files where FastDFS keeps them on disk', async () => {
    const id = await client.upload(Buffer.from('layout'), { ext: 'txt' });
    const remote = id.slice('group1/'.length);
    const onDisk = await readFile(join(node.base, 'storage', 'data', remote.slice(4)));
    expect(onDisk.toString()).toBe('layout');
  });
});
