/**
 * What `new FdfsClient(…)` accepts, turned into one ClientConfig: a loaded client.conf (as cli
 * and the gateway pass it), `loadClientConfig()`'s result, or plain options for apps that have
 * no conf file. Options go through the conf reader, so tracker addresses are checked the same way.
 */
import { FdfsError, Status } from '../common/index.js';
import { defaultClientConfig } from '../config/index.js';
import type { ClientConfig, HostPort } from '../config/types.js';
import { checkTimeout } from './call.js';
import type { FdfsClientDeps, FdfsClientOptions } from './options.js';

export type FdfsClientInit = ClientConfig | { readonly config: ClientConfig } | FdfsClientOptions;

function isConfig(init: FdfsClientInit): init is ClientConfig {
  return 'trackerServers' in init;
}

function addressText(t: string | HostPort): string {
  if (typeof t === 'string') return t;
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  checkTimeout(value, name);
  return value;
}

function fromOptions(o: FdfsClientOptions): ClientConfig {
  if (!Array.isArray(o.trackers) || o.trackers.length === 0) {
    throw new FdfsError(Status.EINVAL, "FdfsClient needs at least one tracker: { trackers: ['host:22122'] }");
  }
  const base = defaultClientConfig(new Map([['tracker_server', o.trackers.map(addressText)]])).config;
  return Object.freeze({
    ...base,
    connectTimeout: positive(o.connectTimeout, 'connectTimeout', base.connectTimeout),
    networkTimeout: positive(o.networkTimeout, 'networkTimeout', base.networkTimeout),
    useConnectionPool: o.pool ?? base.useConnectionPool,
    connectionPoolMaxIdleTime: positive(o.maxIdleTime, 'maxIdleTime', base.connectionPoolMaxIdleTime),
  });
}

/** The config and the deps of a client; options' own logger and timeout win over `deps`. */
export function resolveInit(
  init: FdfsClientInit,
  deps: FdfsClientDeps,
): { config: ClientConfig; deps: FdfsClientDeps } {
  if (isConfig(init)) return { config: init, deps };
  if ('config' in init) return { config: init.config, deps };
  const merged: FdfsClientDeps = {
    ...deps,
    ...(init.logger ? { logger: init.logger } : {}),
    ...(init.statLayout ? { statLayout: init.statLayout } : {}),
    ...(init.timeout === undefined ? {} : { timeout: init.timeout }),
  };
  return { config: fromOptions(init), deps: merged };
}
