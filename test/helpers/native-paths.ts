/**
 * The two ways a node can do its disk and socket work, for describe.each: through the native addon
 * (when `npm run build` could compile it here: sendfile for large bodies, one-job file creation
 * for small durable uploads) and the plain node:fs / node:net paths (FDFS_NATIVE=0).
 */
import { afterAll, beforeAll, expect } from 'vitest';
import type { FdfsClient } from '../../src/client/index.js';
import { type RunningNode, readyClient, startNode } from './node-process.js';

export const NATIVE_PATHS = [
  { path: 'default (native addon when built)', env: {} },
  { path: 'plain JavaScript (FDFS_NATIVE=0)', env: { FDFS_NATIVE: '0' } },
] as const;

/**
 * Inside a describe: an `fdfs start` node with `env` and `args`, started with a ready client
 * before the describe's tests and stopped after them (it must exit 0). Read `node` and `client`
 * from the returned object once the tests run.
 */
export function nodeForTests(opts: { env: NodeJS.ProcessEnv; args?: string[] }): {
  readonly node: RunningNode;
  readonly client: FdfsClient;
} {
  let node: RunningNode | undefined;
  let client: FdfsClient | undefined;
  beforeAll(async () => {
    node = await startNode(opts);
    client = await readyClient(node);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    if (node) expect(await node.stop()).toBe(0);
  });
  return {
    get node() {
      if (!node) throw new Error('the node is not started yet');
      return node;
    },
    get client() {
      if (!client) throw new Error('the node is not started yet');
      return client;
    },
  };
}
