/** Everything an S3 operation needs, built once per endpoint from the config and what cli hands in. */
import { type Logger, silentLogger } from '../common/index.js';
import type { S3Config } from '../config/types.js';
import type { LocalStore, RemoteStore } from '../gateway/index.js';
import type { Namespace } from '../namespace/index.js';
import { IntentLog } from './intents.js';
import { PresignMemo } from './presign-memo.js';
import { SmallFiles } from './small-files.js';

export interface S3Deps {
  readonly namespace: Namespace;
  /** The storage this process runs beside (fdfs start, fdfs storage --http-port). */
  readonly local?: LocalStore;
  /** The cluster, for groups the local storage is not in (and for everything without one). */
  readonly remote?: RemoteStore;
  readonly logger?: Logger;
  /** Clock in ms (SigV4 skew and expiry, Last-Modified); Date.now by default. */
  readonly now?: () => number;
  /** Where bodies of unknown length wait before a remote upload; cleared at start. */
  readonly spoolDir: string;
  /** Content type of objects stored without one. */
  readonly defaultContentType?: string;
  /** The local storage's binlog lines, oldest first: enables the periodic orphan pass (gc.ts). */
  readonly binlogLines?: () => AsyncIterable<string>;
}

export interface S3Context {
  readonly config: S3Config;
  readonly ns: Namespace;
  readonly local: LocalStore | undefined;
  readonly remote: RemoteStore | undefined;
  readonly logger: Logger;
  readonly now: () => number;
  readonly spoolDir: string;
  readonly defaultContentType: string;
  /** Host names whose subdomains are buckets (virtual-host style). */
  readonly domains: readonly string[];
  secretOf(accessKey: string): string | undefined;
  /** Wakes the garbage drain after a write that may have released files. */
  kickGarbage(): void;
  /** Bytes of small single-file objects, by file id. */
  readonly smallFiles: SmallFiles;
  /** Upload intents: what each upload is about to store, for fdfs s3 gc (see intents.ts). */
  readonly intents: IntentLog;
  /** Presigned GET/HEAD URLs verified before (presign-memo.ts). */
  readonly presigned: PresignMemo;
}

export function createContext(config: S3Config, deps: S3Deps, kickGarbage: () => void): S3Context {
  const secrets = new Map(config.credentials.map((c) => [c.accessKey, c.secretKey]));
  const domains = [
    'localhost',
    ...config.domain
      .split(',')
      .map((d) => d.trim().toLowerCase())
      .filter((d) => d !== ''),
  ];
  const logger = (deps.logger ?? silentLogger).child({ role: 's3' });
  const now = deps.now ?? Date.now;
  return {
    config,
    ns: deps.namespace,
    local: deps.local,
    remote: deps.remote,
    logger,
    now,
    spoolDir: deps.spoolDir,
    defaultContentType: deps.defaultContentType ?? 'application/octet-stream',
    domains,
    secretOf: (ak) => secrets.get(ak),
    kickGarbage,
    smallFiles: new SmallFiles(),
    intents: new IntentLog(deps.namespace, now, logger),
    presigned: new PresignMemo(),
  };
}
