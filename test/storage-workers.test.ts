/**
 * A storage with worker processes (work_processes = 2) under `fdfs start`: connections land on
 * the storage or on either worker, whichever accepts. Every read goes over a fresh connection, so
 * a dozen of them reach every process; what one connection changes, all of them see at once
 * (each process caches small files, and a change must reach every cache before it is answered).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { Cmd, encodeDownload } from '../src/protocol/index.js';
import { eventually, type RunningNode, startNode } from './helpers/node-process.js';
import { exchange, header, openRaw } from './helpers/raw-peer.js';

let node: RunningNode;
let client: FdfsClient;
const newClient = () =>
  new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]]])).config,
  );
const FRESH_CONNECTIONS = 12;

beforeAll(async () => {
  node = await startNode({
    args: [
      '--set',
      'work_processes=2',
      '--set',
      'durable_writes=false',
      '--set',
      'stat_report_interval=1',
      '--set',
      'heart_beat_interval=1',
    ],
  });
  client = newClient();
  await eventually(() => client.upload(Buffer.from('warm-up')));
}, 60_000);

afterAll(async () => {
  await client?.close();
  expect(await node?.stop()).toBe(0);
});

/** One download over its own new connection: the status and the body. */
async function freshDownload(fileId: string, size: number): Promise<{ status: number; body: Buffer }> {
  const slash = fileId.indexOf('/');
  const body = encodeDownload({
    offset: 0,
    length: 0,
    group: fileId.slice(0, slash),
    remote: fileId.slice(slash + 1),
  });
  const r = await exchange(
    node.storage.host,
    node.storage.port,
    Buffer.concat([header(body.length, Cmd.DOWNLOAD_FILE), body]),
    {
      want: 10 + size,
      waitMs: 5000,
    },
  );
  const len = Number(r.data.readBigInt64BE(0));
  expect(r.data[8]).toBe(Cmd.RESP);
  return { status: r.data[9] ?? -1, body: r.data.subarray(10, 10 + len) };
}

async function everyConnectionSees(fileId: string, want: Buffer | 'ENOENT'): Promise<void> {
  const got = await Promise.all(
    Array.from({ length: FRESH_CONNECTIONS }, () =>
      freshDownload(fileId, want === 'ENOENT' ? 0 : want.length),
    ),
  );
  for (const g of got) {
    if (want === 'ENOENT') expect(g.status).toBe(2);
    else expect({ status: g.status, body: g.body.toString() }).toEqual({ status: 0, body: want.toString() });
  }
}

describe('fdfs start with storage worker processes', () => {
  it('uploads and downloads on any connection, and a delete reaches every cache at once', async () => {
    const data = Buffer.from('cached in every process');
    const ids = await Promise.all(
      Array.from({ length: 8 }, () => newClient()).map(async (c) => {
        try {
          return await c.upload(data, { ext: 'txt' });
        } finally {
          await c.close();
        }
      }),
    );
    expect(new Set(ids).size).toBe(ids.length); // one namer: no two uploads got one name
    const id = ids[0] as string;
    await everyConnectionSees(id, data);
    await everyConnectionSees(id, data); // now from the caches
    await client.delete(id);
    await everyConnectionSees(id, 'ENOENT');
    // The workers' downloads count in the storage's heartbeat, as its own do.
    await eventually(async () => {
      const [s] = await client.listStorages('group1');
      expect(s?.counters.successDownloadCount).toBeGreaterThanOrEqual(2 * FRESH_CONNECTIONS);
      expect(s?.counters.successUploadCount).toBeGreaterThanOrEqual(ids.length);
    }, 20_000);
  });

  it('relays the other commands: appender changes, metadata, file info', async () => {
    const id = await client.upload(Buffer.from('abc'), { appender: true, ext: 'log' });
    await everyConnectionSees(id, Buffer.from('abc'));
    await client.append(id, Buffer.from('def'));
    await everyConnectionSees(id, Buffer.from('abcdef'));
    await client.truncate(id, 2);
    await everyConnectionSees(id, Buffer.from('ab'));
    await client.setMetadata(id, { k: 'v' });
    expect(await client.getMetadata(id)).toEqual({ k: 'v' });
    expect((await client.fileInfo(id, { fromServer: true })).size).toBe(2);
  });

  it('answers an unknown command with EINVAL and closes, as the storage alone does', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await exchange(node.storage.host, node.storage.port, header(0, 199), { waitMs: 5000 });
      expect([...r.data.subarray(8, 10)]).toEqual([Cmd.RESP, 22]);
      expect(r.closed).toBe(true);
    }
  });

  it('stops with the storage: nothing listens on its port afterwards', async () => {
    const other = await startNode({ args: ['--set', 'work_processes=2'] });
    const { host, port } = other.storage;
    (await openRaw(host, port)).destroy();
    expect(await other.stop()).toBe(0);
    await expect(openRaw(host, port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
