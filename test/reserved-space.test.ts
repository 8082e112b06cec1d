/** reserved_storage_space: a full store refuses uploads with ENOSPC and keeps serving reads. */
import { join } from 'node:path';
import FdfsClient from 'fdfs';
import { afterAll, describe, expect, it } from 'vitest';
import { FdfsClient as Client } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { StorageStatus } from '../src/protocol/index.js';
import { storedFiles } from './helpers/cluster.js';
import { eventually, quiet, type RunningNode, startNode } from './helpers/node-process.js';
import { exchange, fixed, header, int64 } from './helpers/raw-peer.js';

let node: RunningNode | undefined;

afterAll(async () => {
  await node?.stop();
});

describe('reserved storage space', () => {
  it('answers ENOSPC (28) when every path is inside the reserve', async () => {
    // --set reaches both roles: the tracker refuses the store query, the storage the upload.
    node = await startNode({ args: ['--set', 'reserved_storage_space=100%'] });
    const ours = new Client(
      defaultClientConfig(new Map([['tracker_server', [`${node.tracker.host}:${node.tracker.port}`]]]))
        .config,
    );
    await eventually(async () => {
      const [s] = await ours.listStorages('group1');
      if (s?.status !== StorageStatus.ACTIVE) throw new Error('storage not active yet');
    });
    const npmClient = new FdfsClient({ trackers: [node.tracker], timeout: 5000, logger: quiet });
    await expect(npmClient.upload(Buffer.from('x'), { ext: 'txt' })).rejects.toThrow('errno is: 28');
    await expect(ours.upload(Buffer.from('x'))).rejects.toMatchObject({
      status: 28,
      code: 'FDFS_ERR_ENOSPC',
    });
    await ours.close();
  });

  it('the storage itself refuses with ENOSPC when asked directly, past the tracker', async () => {
    if (!node) throw new Error('the first test starts the node');
    // A raw UPLOAD_FILE (11) to the storage port: store path 0xFF, 5 bytes, ext txt.
    const body = Buffer.concat([Buffer.from([0xff]), int64(5), fixed('txt', 6), Buffer.from('hello')]);
    const r = await exchange(
      node.storage.host,
      node.storage.port,
      Buffer.concat([header(body.length, 11), body]),
      {
        want: 10,
      },
    );
    expect(r.data.length).toBeGreaterThanOrEqual(10);
    expect(r.data.readBigInt64BE(0)).toBe(0n);
    expect([...r.data.subarray(8, 10)]).toEqual([100, 28]);
    expect(await storedFiles(join(node.base, 'storage'))).toEqual(new Map());
  });
});
