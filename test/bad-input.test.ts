/** A bad client gets a FastDFS status or a closed connection, and never stops the node serving others. */
import { crc32 } from 'node:zlib';
import FdfsClient from 'fdfs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, quiet, type RunningNode, startNode } from './helpers/node-process.js';
import { exchange, fixed, header, int64 } from './helpers/raw-peer.js';

let node: RunningNode;
let client: FdfsClient;
let knownId: string;

const RESP = 100;

/** The node still serves a normal client after each bad one. */
async function stillServing(): Promise<void> {
  const info = await client.getFileInfo(knownId);
  expect(info.crc32).toBe(crc32(Buffer.from('still here')));
}

beforeAll(async () => {
  node = await startNode();
  client = new FdfsClient({ trackers: [node.tracker], timeout: 10_000, logger: quiet });
  knownId = await eventually(() => client.upload(Buffer.from('still here'), { ext: 'txt' }));
}, 30_000);

afterAll(async () => {
  expect(await node?.stop()).toBe(0);
});

describe.each(['tracker', 'storage'] as const)('bad packets to the %s', (role) => {
  const addr = () => node[role];

  it('a negative length closes the connection', async () => {
    const r = await exchange(addr().host, addr().port, header(-1n, 111));
    expect(r.closed).toBe(true);
    expect(r.data.length).toBe(0);
    await stillServing();
  });

  it('a huge length is refused without allocating it', async () => {
    const cmd = role === 'tracker' ? 102 : 12; // query fetch / delete: control bodies
    const r = await exchange(addr().host, addr().port, header(2n ** 40n, cmd));
    // Either an EINVAL header or a plain close; never a hang waiting for a terabyte.
    if (r.data.length > 0) expect([...r.data.subarray(8, 10)]).toEqual([RESP, 22]);
    expect(r.closed).toBe(true);
    await stillServing();
  });

  it('an unknown command gets EINVAL', async () => {
    const r = await exchange(addr().host, addr().port, header(0, 250), { want: 10 });
    expect(r.data.length).toBe(10);
    expect(r.data.readBigInt64BE(0)).toBe(0n);
    expect([...r.data.subarray(8, 10)]).toEqual([RESP, 22]);
    await stillServing();
  });

  it('a truncated body closes the connection and leaves nothing behind', async () => {
    const cmd = role === 'tracker' ? 102 : 11;
    const r = await exchange(addr().host, addr().port, Buffer.concat([header(1000, cmd), Buffer.alloc(20)]), {
      endWrite: true,
    });
    expect(r.closed).toBe(true);
    await stillServing();
  });
});

describe('bad requests to the storage', () => {
  const storage = () => node.storage;

  it('a file id with ../ is EINVAL', async () => {
    const name = Buffer.from('M00/00/00/../../../../etc/passwd');
    const body = Buffer.concat([int64(0), int64(0), fixed('group1', 16), name]);
    const r = await exchange(storage().host, storage().port, Buffer.concat([header(body.length, 14), body]), {
      want: 10,
    });
    expect([...r.data.subarray(8, 10)]).toEqual([RESP, 22]);
    await expect(client.getFileInfo('group1/M00/00/00/../../../../etc/passwd')).rejects.toThrow(
      'errno is: 22',
    );
    await stillServing();
  });

  it('an over-long metadata value is EINVAL and stores nothing', async () => {
    await expect(client.setMetaData(knownId, { note: 'x'.repeat(257) })).rejects.toThrow('errno is: 22');
    await expect(client.getMetaData(knownId)).rejects.toThrow('errno is: 2');
    await client.setMetaData(knownId, { note: 'x'.repeat(256) });
    expect((await client.getMetaData(knownId)).note).toHaveLength(256);
    await stillServing();
  });

  it('an upload whose size field disagrees with the body is EINVAL', async () => {
    const body = Buffer.concat([Buffer.from([0xff]), int64(999), fixed('txt', 6), Buffer.from('abc')]);
    const r = await exchange(storage().host, storage().port, Buffer.concat([header(body.length, 11), body]), {
      want: 10,
    });
    expect([...r.data.subarray(8, 10)]).toEqual([RESP, 22]);
    await stillServing();
  });

  it('a request for another group is EINVAL', async () => {
    const remote = knownId.slice('group1/'.length);
    const body = Buffer.concat([fixed('group9', 16), Buffer.from(remote)]);
    const r = await exchange(storage().host, storage().port, Buffer.concat([header(body.length, 12), body]), {
      want: 10,
    });
    expect([...r.data.subarray(8, 10)]).toEqual([RESP, 22]);
    await stillServing();
  });
});
