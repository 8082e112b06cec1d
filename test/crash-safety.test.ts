/**
 * Kill -9 the storage in the middle of uploads: after a restart no partial file is visible under a
 * real name, and every upload that had been answered is intact.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import FdfsClient from 'fdfs';
import { afterAll, describe, expect, it } from 'vitest';
import { FdfsClient as Client } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { eventually, quiet, type RunningNode, startNode, tempDir } from './helpers/node-process.js';
import { fixed, header, int64, openRaw } from './helpers/raw-peer.js';

let node: RunningNode | undefined;

afterAll(async () => {
  await node?.stop();
});

async function listDataFiles(storeRoot: string): Promise<string[]> {
  const out: string[] = [];
  const data = join(storeRoot, 'data');
  for (const high of await readdir(data)) {
    if (!/^[0-9A-F]{2}$/.test(high)) continue;
    for (const low of await readdir(join(data, high))) {
      for (const name of await readdir(join(data, high, low))) out.push(`M00/${high}/${low}/${name}`);
    }
  }
  return out;
}

describe('crash safety', () => {
  it('loses no acknowledged upload and shows no partial file after kill -9', async () => {
    const base = await tempDir();
    node = await startNode({ base });
    // Our own client for the writers: it fails fast when the node dies under it.
    const writer = new Client(
      defaultClientConfig(
        new Map([
          ['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]],
          ['network_timeout', ['5']],
        ]),
      ).config,
    );
    await eventually(() => writer.upload(Buffer.from('warm'), { ext: 'txt' }));

    // Answered uploads, with their content, kept while more are in flight.
    const acked = new Map<string, Buffer>();
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const data = Buffer.alloc(20_000 + ((w * 7919 + i * 104_729) % 200_000), (w * 31 + i) & 0xff);
        try {
          acked.set(await writer.upload(data, { ext: 'bin' }), data);
        } catch {
          return; // the node died under us
        }
      }
    });

    // A big upload that is half sent when the process dies: 8 MB of an announced 64 MB.
    const big = await openRaw(node.storage.host, node.storage.port);
    big.on('error', () => {});
    const bigSize = 64 * 1024 * 1024;
    big.write(
      Buffer.concat([header(bigSize + 15, 11), Buffer.from([0xff]), int64(bigSize), fixed('big', 6)]),
    );
    big.write(Buffer.alloc(8 * 1024 * 1024, 1));
    const tmp = join(base, 'storage', 'data', '.tmp');
    await eventually(async () => {
      if ((await readdir(tmp)).length === 0) throw new Error('no temp file yet');
    });
    await eventually(async () => {
      if (acked.size < 20) throw new Error('waiting for answered uploads');
    });

    node.child.kill('SIGKILL');
    await node.stop();
    stop = true;
    await Promise.all(writers);
    big.destroy();
    await writer.close();
    const answered = new Map(acked);

    node = await startNode({ base });
    const client = new FdfsClient({ trackers: [node.tracker], timeout: 10_000, logger: quiet });
    await eventually(() => client.getFileInfo([...answered.keys()][0] ?? ''));

    // No temp debris, and every visible file is whole: size and crc32 equal what its name encodes.
    expect(await readdir(tmp)).toEqual([]);
    const visible = await listDataFiles(join(base, 'storage'));
    for (const remote of visible) {
      const d = decodeRemoteFilename(remote);
      const bytes = await readFile(join(base, 'storage', 'data', remote.slice(4)));
      expect(bytes.length, remote).toBe(d.size);
      expect(crc32(bytes), remote).toBe(d.crc32);
    }
    expect(visible.some((r) => r.endsWith('.big'))).toBe(false);

    // Every answered upload is there, byte for byte.
    expect(answered.size).toBeGreaterThanOrEqual(20);
    for (const [id, data] of answered) {
      expect(visible).toContain(id.slice('group1/'.length));
      const info = await client.getFileInfo(id);
      expect(info.size).toBe(data.length);
      expect(info.crc32).toBe(crc32(data));
    }
  }, 90_000);
});
