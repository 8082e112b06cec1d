/**
 * An in-process tracker + storage (real servers on 127.0.0.1:0) with the gateway's two backends:
 * a LocalStore over the storage's engine and an FdfsClient. For gateway tests, in-process and on
 * an ephemeral HTTP port.
 */
import { readdir, rm } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { join } from 'node:path';
import { localStoreOf } from '../../src/cli/local-reader.js';
import { FdfsClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/common/index.js';
import {
  defaultClientConfig,
  defaultHttpConfig,
  defaultStorageConfig,
  defaultTrackerConfig,
} from '../../src/config/index.js';
import type { HttpConfig } from '../../src/config/types.js';
import type { LocalStore } from '../../src/gateway/index.js';
import { type StorageNode, startStorage } from '../../src/storage/index.js';
import { startTracker, type TrackerHandle } from '../../src/tracker/index.js';
import { eventually, tempDir } from './node-process.js';

export interface InProcessCluster {
  readonly base: string;
  readonly tracker: TrackerHandle;
  readonly storage: StorageNode;
  readonly client: FdfsClient;
  readonly local: LocalStore;
  /** A gateway config pointing at this cluster; `over` replaces http.conf keys. */
  httpConfig(over?: Record<string, string | string[]>): HttpConfig;
  /** Temp files anywhere under the storage's `.tmp` and the gateway's spool folder. */
  tempFiles(): Promise<string[]>;
  /** Every stored file (data/HH/LL/*), metadata sidecars included. */
  storedFiles(): Promise<string[]>;
  /** Another storage of the same group, with its own store path; closed with the cluster. */
  addStorage(): Promise<StorageNode>;
  close(): Promise<void>;
}

const map = (o: Record<string, string | string[]>) =>
  new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));

export async function startCluster(
  group = 'group1',
  trackerKeys: Record<string, string> = {},
): Promise<InProcessCluster> {
  const base = await tempDir('fdfs-gw-');
  const tracker = await startTracker(
    defaultTrackerConfig(
      map({ base_path: join(base, 'tracker'), port: '0', bind_addr: '127.0.0.1', ...trackerKeys }),
    ).config,
    { logger: silentLogger },
  );
  const trackerAddr = `127.0.0.1:${tracker.address.port}`;
  const storageIn = (dir: string, bind: string) =>
    startStorage(
      defaultStorageConfig(
        map({
          base_path: join(base, dir),
          store_path0: join(base, dir),
          port: '0',
          bind_addr: bind,
          group_name: group,
          tracker_server: trackerAddr,
          durable_writes: 'false',
        }),
      ).config,
      { logger: silentLogger },
    );
  const storage = await storageIn('storage', '127.0.0.1');
  const extra: StorageNode[] = [];
  const client = new FdfsClient(
    defaultClientConfig(map({ tracker_server: trackerAddr, use_connection_pool: 'true' })).config,
  );
  await eventually(async () => client.delete(await client.upload(Buffer.from('warm-up'))));
  const spool = join(base, 'gateway', 'tmp');
  const storageTmp = join(base, 'storage', 'data', '.tmp');
  return {
    base,
    tracker,
    storage,
    client,
    local: localStoreOf(storage.engine),
    httpConfig(over = {}) {
      return defaultHttpConfig(
        map({
          base_path: join(base, 'gateway'),
          tracker_server: trackerAddr,
          'http.server_port': '0',
          ...over,
        }),
      ).config;
    },
    async tempFiles() {
      const list = async (dir: string) => (await readdir(dir).catch(() => [])).map((n) => join(dir, n));
      return [...(await list(storageTmp)), ...(await list(spool))];
    },
    async storedFiles() {
      const data = join(base, 'storage', 'data');
      const out: string[] = [];
      for (const hh of await readdir(data)) {
        if (!/^[0-9A-F]{2}$/.test(hh)) continue;
        for (const ll of await readdir(join(data, hh))) {
          for (const f of await readdir(join(data, hh, ll))) out.push(`${hh}/${ll}/${f}`);
        }
      }
      return out.sort();
    },
    async addStorage() {
      // Its own loopback address: the tracker tells storages of a group apart by ip.
      const node = await storageIn(`storage${extra.length + 2}`, `127.0.0.${extra.length + 2}`);
      extra.push(node);
      return node;
    },
    async close() {
      await client.close();
      for (const node of extra) await node.close();
      await storage.close();
      await tracker.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** An HTTP request sent exactly as given: fetch would normalize `..` out of the path first. */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
