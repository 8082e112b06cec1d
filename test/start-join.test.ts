/**
 * `fdfs start --tracker` joins an existing cluster: a second one-command instance adds a group,
 * and each instance's gateway serves the other group's files through the cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { StorageStatus } from '../src/protocol/index.js';
import { listeningSockets } from './helpers/listening.js';
import { eventually, type RunningNode, startNode } from './helpers/node-process.js';

let first: RunningNode;
let second: RunningNode;
let client: FdfsClient;

beforeAll(async () => {
  first = await startNode();
  const tracker = `${first.tracker.host}:${first.tracker.port}`;
  second = await startNode({ bind: '127.0.0.2', args: ['--tracker', tracker, '--group', 'group2'] });
  client = new FdfsClient(defaultClientConfig(new Map([['tracker_server', [tracker]]])).config);
  await eventually(async () => {
    const [s] = await client.listStorages('group2');
    if (s?.status !== StorageStatus.ACTIVE) throw new Error('group2 not active yet');
  });
});

afterAll(async () => {
  await client?.close();
  await second?.stop();
  await first?.stop();
});

describe('fdfs start --tracker', () => {
  it('runs no tracker of its own and reports the one it joined', async () => {
    expect(second.tracker).toEqual(first.tracker);
    expect(second.storage.host).toBe('127.0.0.2');
    // What the process really listens on: its storage, its gateway and its S3 port, nothing else.
    const listens = await listeningSockets(second.child.pid ?? 0);
    expect(listens).toEqual(
      [second.storage, second.http, second.s3]
        .sort((a, b) => a.port - b.port)
        .map(({ host, port }) => ({ host, port })),
    );
    // The probe itself sees a tracker where there is one.
    expect(await listeningSockets(first.child.pid ?? 0)).toContainEqual(first.tracker);
  });

  it('adds its group to the cluster, and gateways serve each other’s files', async () => {
    expect((await client.listGroups()).map((g) => g.groupName).sort()).toEqual(['group1', 'group2']);
    const data = Buffer.from('stored by the second instance');
    const id = await client.upload(data, { group: 'group2', ext: 'txt' });
    expect(id.startsWith('group2/')).toBe(true);
    expect((await client.fileInfo(id)).source).toEqual({ kind: 'ip', ip: '127.0.0.2' });
    // The first instance's gateway has no group2 disk: it must fetch through the cluster.
    const res = await fetch(`http://${first.http.host}:${first.http.port}/${id}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    const local = await client.upload(Buffer.from('group1 file'), { group: 'group1' });
    const back = await fetch(`http://${second.http.host}:${second.http.port}/${local}`);
    expect(await back.text()).toBe('group1 file');
  });
});
