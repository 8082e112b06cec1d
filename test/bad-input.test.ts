/** A bad client gets a FastDFS status or a closed connection, and never stops the node serving others. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import FdfsClient from 'fdfs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, quiet, type RunningNode, startNode } from './helpers/node-process.js';
import { exchange, fixed, header, int64, openRaw } from './helpers/raw-peer.js';

let node: RunningNode;
let client: FdfsClient;
let knownId: string;

const RESP = 100;

/** The node still serves a normal client after each bad one. */
async function stillServing(): Promise<void> {
  const info = await client.getFileInfo(knownId);
  expect(info.crc32).toBe(crc32(Buffer.from('still here')));
}

/** Peak virtual memory of a process (VmPeak in /proc/<pid>/status), in KiB. */
async function vmPeakKb(pid: number): Promise<number> {
  const m = /^VmPeak:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m?.[1]) throw new Error(`no VmPeak for pid ${pid}`);
  return Number(m[1]);
}

async function tempFiles(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.tmp'));
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
    const pid = node.child.pid ?? 0;
    const before = await vmPeakKb(pid);
    // 1 GiB claimed, and a few body bytes, so a reader that trusted the length would allocate
    // the buffer now and sit waiting for the rest.
    const r = await exchange(
      addr().host,
      addr().port,
      Buffer.concat([header(2n ** 30n, cmd), Buffer.alloc(64)]),
      {
        waitMs: 3000,
      },
    );
    // EINVAL, then the connection closes: never a hang waiting for a gigabyte.
    expect(r.data.length).toBe(10);
    expect(r.data.readBigInt64BE(0)).toBe(0n);
    expect([...r.data.subarray(8, 10)]).toEqual([RESP, 22]);
    expect(r.closed).toBe(true);
    // The peak virtual size would jump by the whole claim had the server allocated it.
    expect((await vmPeakKb(pid)) - before).toBeLessThan(256 * 1024);
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
    if (role === 'tracker') {
      const r = await exchange(
        addr().host,
        addr().port,
        Buffer.concat([header(1000, 102), Buffer.alloc(20)]),
        {
          endWrite: true,
        },
      );
      expect(r.closed).toBe(true);
      await stillServing();
      return;
    }
    // A consistent upload: 15 bytes of fields announcing 1 MB of content, of which 5 come (past
    // 256 KB a body streams to its temp file as it arrives; smaller ones are read whole first).
    const length = 15 + 1024 * 1024;
    const fields = Buffer.concat([Buffer.from([0xff]), int64(length - 15), fixed('bin', 6)]);
    const tmpDir = join(node.base, 'storage', 'data', '.tmp');
    const s = await openRaw(addr().host, addr().port);
    const closed = new Promise<void>((res) => s.once('close', () => res()));
    s.on('error', () => {});
    s.write(Buffer.concat([header(length, 11), fields, Buffer.from('12345')]));
    // The storage has started the file: its temp file exists before the body is cut.
    await eventually(async () => expect(await tempFiles(tmpDir)).toHaveLength(1), 5000);
    s.end();
    await closed;
    await eventually(async () => expect(await tempFiles(tmpDir)).toEqual([]), 3000);
    await stillServing();
  });

  it('a truncated small body closes the connection and leaves nothing behind', async () => {
    if (role === 'tracker') return;
    const fields = Buffer.concat([Buffer.from([0xff]), int64(1000 - 15), fixed('bin', 6)]);
    const r = await exchange(
      addr().host,
      addr().port,
      Buffer.concat([header(1000, 11), fields, Buffer.from('12345')]),
      { endWrite: true },
    );
    expect(r.closed).toBe(true);
    expect(await tempFiles(join(node.base, 'storage', 'data', '.tmp'))).toEqual([]);
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
