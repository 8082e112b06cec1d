/** Everything a route needs, built once per gateway from the config and the deps cli hands in. */
import { join } from 'node:path';
import { type Logger, silentLogger } from '../common/index.js';
import type { HttpConfig } from '../config/types.js';
import { Authenticator } from './auth.js';
import { FileCache } from './file-cache.js';
import { LinkSigner } from './links.js';
import { Metrics } from './metrics.js';
import type { GatewayDeps, LocalStore, RemoteStore } from './types.js';

export interface GatewayContext {
  readonly config: HttpConfig;
  readonly local: LocalStore | undefined;
  readonly remote: RemoteStore | undefined;
  readonly logger: Logger;
  readonly now: () => number;
  /** Group of URLs without one: http.group_name, else the local storage's, else ''. */
  readonly defaultGroup: string;
  readonly auth: Authenticator;
  readonly links: LinkSigner;
  readonly metrics: Metrics;
  readonly cache: FileCache;
  /** Where uploads bound for a remote storage wait until their size is known. */
  readonly spoolDir: string;
}

export function createContext(config: HttpConfig, deps: GatewayDeps): GatewayContext {
  const cache = new FileCache(config.cache.maxFileSize, config.cache.maxMemory);
  // Deleted files leave the cache at once: otherwise they stay until revalidation, and a site
  // that deletes what it served fills the cache with dead entries.
  deps.local?.watch?.((remote) => cache.delete(remote));
  return {
    config,
    local: deps.local,
    remote: deps.remote,
    logger: (deps.logger ?? silentLogger).child({ role: 'gateway' }),
    now: deps.now ?? Date.now,
    defaultGroup: config.groupName || deps.local?.group || '',
    auth: new Authenticator(config.auth),
    links: new LinkSigner(config.jwt),
    metrics: new Metrics(),
    cache,
    spoolDir: join(config.client.basePath, 'tmp'),
  };
}

/** True when `group` is served by the local storage. */
export function isLocal(ctx: GatewayContext, group: string): boolean {
  return ctx.local !== undefined && ctx.local.group === group;
}

/** Hono's per-request variables: the file id a request is about, for the request log. */
export type GatewayEnv = { Variables: { fileId: string; who: string } };
