/**
 * `fdfs gateway <http.conf>`: the HTTP gateway alone, in front of any FastDFS cluster (ours or a
 * stock one) reached through the conf's tracker_server lines. And the gateway of `fdfs start`,
 * which also gets the local storage's engine for direct disk reads and writes.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FdfsClient } from '../client/index.js';
import { createLogger, FdfsError, type Logger, Status } from '../common/index.js';
import { defaultHttpConfig, keysOf, loadHttpConfig } from '../config/index.js';
import { type GatewayHandle, startGateway } from '../gateway/index.js';
import type { StorageCounters, StorageEngine } from '../storage/index.js';
import { overridesOf, parse } from './args.js';
import { budgetFor } from './fd-budget.js';
import { localStoreOf } from './local-reader.js';
import { acquirePidFile } from './pidfile.js';
import { runUntilSignal, Startup } from './run.js';
import { assertKnownStartKeys } from './unknown-keys.js';

/** The web page, shipped beside dist/ (package.json "files"); from dist/src/cli up to the root. */
export const PUBLIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url));

export const gatewayHelp = `fdfs gateway <http.conf> [--set key=value ...]
  Runs the HTTP gateway alone, in front of a FastDFS cluster (fastdfs-ts or stock FastDFS)
  reached through the conf's tracker_server lines. --set overrides any http.conf key.
Example: fdfs gateway conf/http.conf --set http.server_port=8081`;

export async function gatewayCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {});
  if (values.help) {
    process.stdout.write(`${gatewayHelp}\n`);
    return;
  }
  const confPath = positionals[0];
  if (!confPath)
    throw new FdfsError(Status.EINVAL, 'fdfs gateway: missing the http.conf argument (see --help)');
  const sets = overridesOf(values.set as string[] | undefined);
  // The loader warns about unknown keys; a misspelt security key must stop the start.
  await assertKnownStartKeys(sets, ['http'], confPath);
  const { config, warnings } = await loadHttpConfig(confPath, sets);
  const logger = createLogger({ level: config.client.logLevel });
  for (const w of warnings) logger.warn(w);
  await mkdir(config.client.basePath, { recursive: true });
  const budget = await budgetFor(logger, { http: true, nativePorts: 0 });
  const startup = new Startup(logger);
  const gw = await startup.run(async () => {
    startup.add('pid file', {
      close: await acquirePidFile(join(config.client.basePath, 'fdfs-gateway.pid')),
    });
    const client = startup.add('client', new FdfsClient(config.client, { logger }));
    const deps = { remote: client, logger, publicDir: PUBLIC_DIR };
    return startup.add(
      'gateway',
      await startGateway(config, deps, budget ? { maxConnections: budget.http } : {}),
    );
  });
  process.stdout.write(`fdfs ready http=${gw.address.host}:${gw.address.port}\n`);
  await runUntilSignal(logger, () => startup.closeAll());
}

export interface EmbeddedGatewayOptions {
  /** All `--set` values of `fdfs start`; those that are http.conf keys apply here. */
  readonly sets: ReadonlyMap<string, string[]>;
  readonly bind: string;
  readonly port: number;
  /** The data folder of `fdfs start`; the gateway's spool goes in <base>/gateway. */
  readonly base: string;
  /** tracker_server entries (`host:port`) the gateway's client uses for other groups and replicas. */
  readonly trackers: readonly string[];
  readonly engine: StorageEngine;
  /** The storage's heartbeat counters: the gateway's local work is counted there too. */
  readonly counters: StorageCounters;
  readonly logger: Logger;
  /** A cap below http.max_connections that fits the descriptor limit. */
  readonly maxConnections?: number;
}

/**
 * The gateway beside a storage (`fdfs start`, `fdfs storage --http-port`): local disk for its
 * group, the cluster for the rest. This is what replaces nginx + fastdfs-nginx-module on every
 * storage machine.
 */
export async function startEmbeddedGateway(o: EmbeddedGatewayOptions): Promise<GatewayHandle> {
  const keys = keysOf('http');
  const over = new Map([...o.sets].filter(([k]) => keys.has(k)));
  over.set('base_path', [join(o.base, 'gateway')]);
  over.set('tracker_server', [...o.trackers]);
  over.set('http.server_port', [String(o.port)]);
  if (!over.has('http.bind_addr')) over.set('http.bind_addr', [o.bind]);
  const { config, warnings } = defaultHttpConfig(over);
  for (const w of warnings) o.logger.warn(w);
  const client = new FdfsClient(config.client, { logger: o.logger });
  const local = localStoreOf(o.engine, o.counters);
  const deps = { local, remote: client, logger: o.logger, publicDir: PUBLIC_DIR };
  const limits = o.maxConnections === undefined ? {} : { maxConnections: o.maxConnections };
  const gw = await startGateway(config, deps, limits).catch(async (err: unknown) => {
    await client.close();
    throw err;
  });
  return {
    ...gw,
    async close() {
      await gw.close();
      await client.close();
    },
  };
}
