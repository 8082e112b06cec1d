/** reserved_storage_space: a full store refuses uploads with ENOSPC and keeps serving reads. */
import FdfsClient from 'fdfs';
import { afterAll, describe, expect, it } from 'vitest';
import { FdfsClient as Client } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { StorageStatus } from '../src/protocol/index.js';
import { eventually, quiet, type RunningNode, startNode } from './helpers/node-process.js';

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
});
