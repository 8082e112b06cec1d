/** client.conf → ClientConfig. */
import { applyOverrides, type RawConf, readConfFile } from './conf-file.js';
import { ConfReader } from './reader.js';
import {
  type BuildOptions,
  basePathOf,
  type Loaded,
  type Overrides,
  timeouts,
  trackerServersOf,
} from './shared.js';
import type { ClientConfig } from './types.js';

/** Builds a ClientConfig from already-read values. */
export function clientConfigFrom(raw: RawConf, options: BuildOptions = {}): Loaded<ClientConfig> {
  const r = new ConfReader(raw, 'client', options.source ?? '<conf>');
  const config: ClientConfig = {
    ...timeouts(r),
    basePath: basePathOf(r, options, './data/client'),
    trackerServers: trackerServersOf(r, options),
    useConnectionPool: r.bool('use_connection_pool', true),
    connectionPoolMaxIdleTime: r.duration('connection_pool_max_idle_time', 3_600_000, 's', 1),
    logLevel: r.logLevel('log_level', 'info'),
  };
  return { config: Object.freeze(config), warnings: r.finish() };
}

/** Reads client.conf (and its includes); `overrides` replace the file's values per key. */
export async function loadClientConfig(path: string, overrides?: Overrides): Promise<Loaded<ClientConfig>> {
  const raw = applyOverrides(await readConfFile(path), overrides);
  return clientConfigFrom(raw, { source: path });
}

/**
 * A ClientConfig with no conf file: FastDFS defaults, base_path ./data/client and
 * tracker_server 127.0.0.1:22122 unless overridden.
 */
export function defaultClientConfig(overrides?: Overrides): Loaded<ClientConfig> {
  return clientConfigFrom(applyOverrides(new Map(), overrides), { noFile: true });
}
