/** Our own client against the real `fdfs start` process: every public operation, end to end. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { StorageStatus } from '../src/protocol/index.js';
import { eventually, type RunningNode, startNode } from './helpers/node-process.js';

let node: RunningNode;
let client: FdfsClient;

const bytes = (n: number, seed = 1) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff));

beforeAll(async () => {
  node = await startNode();
  const conf = defaultClientConfig(
    new Map([['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]]]),
  );
  client = new FdfsClient(conf.config);
  await eventually(() => client.upload(Buffer.from('warm-up')));
}, 30_000);

afterAll(async () => {
  await client?.close();
  expect(await node?.stop()).toBe(0);
});

describe('FdfsClient against fdfs start', () => {
  it('uploads from a buffer, a file and a sized stream, with metadata', async () => {
    const data = bytes(150_000);
    const a = await client.upload(data, { ext: 'jpg', metadata: { w: '100' } });
    const path = join(node.base, 'x.webp');
    await writeFile(path, data);
    const b = await client.upload(path);
    expect(b.endsWith('.webp')).toBe(true);
    const c = await client.upload({
      stream: Readable.from([data.subarray(0, 7), data.subarray(7)]),
      size: data.length,
    });
    for (const id of [a, b, c]) expect((await client.downloadBuffer(id)).equals(data)).toBe(true);
    expect(await client.getMetadata(a)).toEqual({ w: '100' });
    await client.setMetadata(a, { h: '50' }, 'merge');
    expect(await client.getMetadata(a)).toEqual({ w: '100', h: '50' });
  });

  it('downloads to a stream, a file and a range', async () => {
    const data = bytes(1_000_000, 9);
    const id = await client.upload(data, { ext: 'bin' });
    const chunks: Buffer[] = [];
    await pipeline(
      await client.download(id),
      new Writable({
        write(c, _e, cb) {
          chunks.push(c);
          cb();
        },
      }),
    );
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    const out = join(node.base, 'out.bin');
    await client.downloadTo(id, out);
    expect((await readFile(out)).equals(data)).toBe(true);
    expect((await client.downloadBuffer(id, { offset: 999_990 })).equals(data.subarray(999_990))).toBe(true);
    expect((await client.downloadBuffer(id, { offset: 10, length: 20 })).equals(data.subarray(10, 30))).toBe(
      true,
    );
  });

  it('downloads ranges at the edges of the 256 KB read buffer and of the file', async () => {
    const chunk = 256 * 1024;
    const data = bytes(2 * chunk + 7, 4);
    const id = await client.upload(data, { ext: 'bin' });
    const get = (offset: number, length?: number) =>
      client.downloadBuffer(id, length === undefined ? { offset } : { offset, length });
    const cases: [number, number | undefined, Buffer][] = [
      [0, undefined, data],
      [1, undefined, data.subarray(1)],
      [0, chunk, data.subarray(0, chunk)],
      [0, chunk + 1, data.subarray(0, chunk + 1)],
      [chunk - 3, 10, data.subarray(chunk - 3, chunk + 7)],
      [chunk + 5, undefined, data.subarray(chunk + 5)],
      [data.length - 5, 100, data.subarray(data.length - 5)], // a length past the end is clamped
      [data.length, undefined, Buffer.alloc(0)], // at the end: an empty body
    ];
    for (const [offset, length, want] of cases) {
      const got = await get(offset, length);
      expect({ offset, length, size: got.length, same: got.equals(want) }).toEqual({
        offset,
        length,
        size: want.length,
        same: true,
      });
    }
    await expect(get(data.length + 1)).rejects.toMatchObject({ status: 22 });
    for (const size of [0, chunk]) {
      const exact = bytes(size, 6);
      expect((await client.downloadBuffer(await client.upload(exact))).equals(exact)).toBe(true);
    }
  });

  it('reports file info decoded locally and from the server', async () => {
    const data = bytes(4096, 3);
    const id = await client.upload(data, { ext: 'png' });
    const local = await client.fileInfo(id);
    expect(local).toMatchObject({
      size: 4096,
      crc32: crc32(data),
      type: 'normal',
      source: { kind: 'ip', ip: '127.0.0.1' },
    });
    const remote = await client.fileInfo(id, { fromServer: true });
    expect(remote.size).toBe(4096);
    expect(remote.crc32).toBe(crc32(data));
  });

  it('runs the appender life cycle: append, modify, truncate, regenerate', async () => {
    const id = await client.upload(Buffer.from('abc'), { appender: true, ext: 'log' });
    expect(decodeRemoteFilename(id.slice(7)).type).toBe('appender');
    await client.append(id, Buffer.from('defgh'));
    await client.modify(id, 1, Buffer.from('BC'));
    expect((await client.downloadBuffer(id)).toString()).toBe('aBCdefgh');
    await client.truncate(id, 4);
    expect((await client.downloadBuffer(id)).toString()).toBe('aBCd');
    expect((await client.fileInfo(id)).size).toBe(4);
    const regular = await client.regenerateAppenderFilename(id);
    expect(regular).not.toBe(id);
    expect(regular.slice(-7)).toBe(id.slice(-7)); // same 7-char formatted ext suffix
    const info = await client.fileInfo(regular);
    expect(info).toMatchObject({ type: 'normal', size: 4, crc32: crc32(Buffer.from('aBCd')) });
    await expect(client.downloadBuffer(id)).rejects.toMatchObject({ status: 2 });
    // A normal file is not an appender: append is EINVAL.
    await expect(client.append(regular, Buffer.from('x'))).rejects.toMatchObject({ status: 22 });
  });

  it('uploads a slave beside its master, and refuses a duplicate', async () => {
    const master = await client.upload(bytes(1000), { ext: 'jpg' });
    const thumb = bytes(100, 5);
    const slave = await client.uploadSlave(master, thumb, { prefix: '_150x150', ext: 'jpg' });
    expect(slave).toBe(master.replace(/\.jpg$/, '_150x150.jpg'));
    expect((await client.downloadBuffer(slave)).equals(thumb)).toBe(true);
    expect((await client.fileInfo(slave, { fromServer: true })).crc32).toBe(crc32(thumb));
    await expect(client.uploadSlave(master, thumb, { prefix: '_150x150', ext: 'jpg' })).rejects.toMatchObject(
      { status: 17 },
    );
  });

  it('deletes, and errors carry the FastDFS status and name the file id', async () => {
    const id = await client.upload(Buffer.from('x'));
    // Read twice first: the storage keeps the small file in memory, and the delete must drop it.
    for (let i = 0; i < 2; i++) expect((await client.downloadBuffer(id)).toString()).toBe('x');
    await client.delete(id);
    const err = await client.downloadBuffer(id).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 2, code: 'FDFS_ERR_ENOENT' });
    expect(String((err as Error).message)).toContain(id);
  });

  it('lists the group and its ACTIVE storage', async () => {
    const groups = await client.listGroups();
    expect(groups.map((g) => g.groupName)).toEqual(['group1']);
    const storages = await client.listStorages('group1');
    expect(storages).toHaveLength(1);
    expect(storages[0]?.status).toBe(StorageStatus.ACTIVE);
    expect(storages[0]?.storagePort).toBe(node.storage.port);
    expect(storages[0]).toMatchObject({ ip: '127.0.0.1', version: '6.16', storePathCount: 1 });
  });
});
