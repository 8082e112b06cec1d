/**
 * The trunk store FastDFS 6.16.1 wrote (test/data/trunk-store): unpacked into a temp folder and
 * served by an in-process tracker (use_trunk_file = true, the settings the store was made with)
 * and storage on 127.0.0.51, the address its file ids name as their source.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FdfsClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/common/index.js';
import { defaultClientConfig, defaultStorageConfig, defaultTrackerConfig } from '../../src/config/index.js';
import { type StorageNode, startStorage } from '../../src/storage/index.js';
import { startTracker, type TrackerHandle } from '../../src/tracker/index.js';
import { eventually, tempDir } from './node-process.js';

export const TRUNK_DATA = resolve(import.meta.dirname, '../data/trunk-store');

export interface ManifestFile {
  readonly note: string;
  readonly fileId: string;
  readonly size: number;
  readonly sha256: string;
  readonly deleted: boolean;
  readonly metadata?: Record<string, string>;
}

export async function trunkManifest(): Promise<ManifestFile[]> {
  return JSON.parse(await readFile(join(TRUNK_DATA, 'manifest.json'), 'utf8')).files;
}

/** The tracker.conf trunk keys make-store.sh used. */
export const TRUNK_TRACKER_KEYS: Record<string, string> = {
  use_trunk_file: 'true',
  slot_min_size: '256',
  slot_max_size: '64KB',
  trunk_alloc_alignment_size: '256',
  trunk_file_size: '4MB',
  trunk_free_space_merge: 'true',
};

/** A fresh copy of the store; returns its folder (base_path = store_path0). */
export async function unpackTrunkStore(): Promise<string> {
  const dir = await tempDir('fdfs-trunk-store-');
  await promisify(execFile)('tar', ['-xzf', join(TRUNK_DATA, 'store.tar.gz'), '-C', dir]);
  return dir;
}

const map = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, [v]]));

export interface TrunkCluster {
  readonly tracker: TrackerHandle;
  readonly storage: StorageNode;
  readonly client: FdfsClient;
  readonly store: string;
  close(): Promise<void>;
}

export async function serveTrunkStore(
  store: string,
  opts: { tracker?: Record<string, string>; storage?: Record<string, string>; host?: string } = {},
): Promise<TrunkCluster> {
  const tracker = await startTracker(
    defaultTrackerConfig(
      map({
        base_path: join(store, '..', `${store.split('/').pop()}-tracker`),
        port: '0',
        bind_addr: '127.0.0.1',
        reserved_storage_space: '0',
        ...TRUNK_TRACKER_KEYS,
        ...opts.tracker,
      }),
    ).config,
    { logger: silentLogger },
  );
  const storage = await startStorage(
    defaultStorageConfig(
      map({
        base_path: store,
        store_path0: store,
        port: '0',
        bind_addr: opts.host ?? '127.0.0.51',
        tracker_server: `127.0.0.1:${tracker.address.port}`,
        heart_beat_interval: '100ms',
        stat_report_interval: '500ms',
        subdir_count_per_path: '4',
        reserved_storage_space: '0',
        ...opts.storage,
      }),
    ).config,
    { logger: silentLogger },
  );
  const client = new FdfsClient(
    defaultClientConfig(map({ tracker_server: `127.0.0.1:${tracker.address.port}` })).config,
  );
  // Served once the tracker lists it writable and it has taken the trunk server role.
  await eventually(async () => {
    const [g] = await client.listGroups();
    if (!g || g.writableCount < 1) throw new Error('storage not writable yet');
    if (!storage.trunks.isServer) throw new Error('not the trunk server yet');
  });
  return {
    tracker,
    storage,
    client,
    store,
    async close() {
      await client.close();
      await storage.close();
      await tracker.close();
    },
  };
}
