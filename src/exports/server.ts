/**
 * `fastdfs-ts/server`: a tracker or a storage started from code, as `fdfs tracker` and
 * `fdfs storage` start them from a conf file. Each returns `{ address, close() }`; close() drains.
 */
import { mkdir } from 'node:fs/promises';
import { type Logger, silentLogger } from '../common/index.js';
import {
  defaultStorageConfig,
  defaultTrackerConfig,
  type StorageConfig,
  type TrackerConfig,
} from '../config/index.js';
import { startStorage as startStorageNode } from '../storage/index.js';
import { startTracker as startTrackerNode } from '../tracker/index.js';
import { type ConfValues, strict, toOverrides } from './conf-values.js';

export {
  loadStorageConfig,
  loadTrackerConfig,
  type StorageConfig,
  type TrackerConfig,
} from '../config/index.js';
export type { ConfValue, ConfValues } from './conf-values.js';

export interface ServerHandle {
  readonly address: { readonly host: string; readonly port: number };
  /** Stops accepting, finishes or drops what is in flight, saves state. */
  close(): Promise<void>;
}

export interface ServerOptions {
  /** JSON-lines logger (createLogger from `fastdfs-ts`); silent by default. */
  readonly logger?: Logger;
}

/** tracker.conf keys as an object over FastDFS' defaults: `trackerConfig({ base_path, port: 0 })`. */
export function trackerConfig(values?: ConfValues): TrackerConfig {
  return strict(defaultTrackerConfig(toOverrides(values)));
}

/** storage.conf keys over FastDFS' defaults; `tracker_server` and `base_path` are the usual ones. */
export function storageConfig(values?: ConfValues): StorageConfig {
  return strict(defaultStorageConfig(toOverrides(values)));
}

export async function startTracker(config: TrackerConfig, opts: ServerOptions = {}): Promise<ServerHandle> {
  await mkdir(config.basePath, { recursive: true });
  const t = await startTrackerNode(config, { logger: opts.logger ?? silentLogger });
  return { address: t.address, close: () => t.close() };
}

export async function startStorage(config: StorageConfig, opts: ServerOptions = {}): Promise<ServerHandle> {
  await mkdir(config.basePath, { recursive: true });
  const s = await startStorageNode(config, { logger: opts.logger ?? silentLogger });
  return { address: s.address, close: () => s.close() };
}
