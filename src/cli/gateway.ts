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
import { imageVariants } from '../image/index.js';
import type { StorageCounters, StorageEngine } from '../storage/index.js';
import { overridesOf, parse } from './args.js';
import { budgetFor } from './fd-budget.js';
import { localStoreOf } from './local-reader.js';
import { acquirePidFile } from './pidfile.js';
import { runUntilSignal, Startup } from './run.js';
import { type S3Endpoint, startS3Endpoint } from './s3.js';
import { assertKnownStartKeys } from './unknown-keys.js';

/** The web page, shipped beside dist/ (package.json "files"); from dist/src/cli up to the root. */
export const PUBLIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url));

export const gatewayHelp = `fdfs gateway <http.conf> [--set key=value ...]
  Runs the HTTP gateway alone, in front of a FastDFS cluster (fastdfs-ts or stock FastDFS)
  reached through the conf's tracker_server lines. --set overrides any http.conf key.
  With s3.server_port set it also serves the S3 API on that port (s3.credential pairs sign requests).
Example: fdfs gateway conf/http.conf --set http.server_port=8081
Example: fdfs gateway conf/http.conf --set s3.server_port=9000 --set s3.credential=AKEXAMPLE:$SECRET`;

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
    const deps = { remote: client, logger, publicDir: PUBLIC_DIR, variants: imageVariants };
    const http = startup.add(
      'gateway',
      await startGateway(config, deps, budget ? { maxConnections: budget.http } : {}),
    );
    const s3 =
      config.s3.port === null
        ? undefined
        : startup.add(
            's3',
            await startS3Endpoint({
              config,
              base: config.client.basePath,
              host: config.bindAddr || '0.0.0.0',
              remote: client,
              logger,
            }),
          );
    return { http, s3 };
  });
  const s3 = gw.s3 ? ` s3=${gw.s3.address.host}:${gw.s3.address.port}` : '';
  await runUntilSignal(logger, `fdfs ready http=${gw.http.address.host}:${gw.http.address.port}${s3}`, () =>
    startup.closeAll(),
  );
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
  /** fdfs start: make an S3 credential on a loopback-only node when none is set. */
  readonly makeS3Credential?: boolean;
  /** The storage's binlog folder, for the S3 endpoint's orphan pass. */
  readonly binlogDir?: string;
  /** Where a credential made now is printed (once). */
  readonly announce?: (line: string) => void;
}

export interface EmbeddedGateway extends GatewayHandle {
  /** The S3 endpoint, when s3.server_port is set. */
  readonly s3: S3Endpoint | undefined;
}

/**
 * The gateway beside a storage (`fdfs start`, `fdfs storage --http-port`): local disk for its
 * group, the cluster for the rest. This is what replaces nginx + fastdfs-nginx-module on every
 * storage machine.
 */
export async function startEmbeddedGateway(o: EmbeddedGatewayOptions): Promise<EmbeddedGateway> {
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
  const deps = { local, remote: client, logger: o.logger, publicDir: PUBLIC_DIR, variants: imageVariants };
  const limits = o.maxConnections === undefined ? {} : { maxConnections: o.maxConnections };
  const gw = await startGateway(config, deps, limits).catch(async (err: unknown) => {
    await client.close();
    throw err;
  });
  let s3: S3Endpoint | undefined;
  if (config.s3.port !== null) {
    try {
      s3 = await startS3Endpoint({
        config,
        base: o.base,
        host: config.bindAddr || '0.0.0.0',
        local,
        remote: client,
        logger: o.logger,
        ...(o.makeS3Credential ? { makeCredential: true } : {}),
        ...(o.binlogDir ? { binlogDir: o.binlogDir } : {}),
        ...(o.announce ? { announce: o.announce } : {}),
      });
    } catch (err) {
      await gw.close();
      await client.close();
      throw err;
    }
  }
  return {
    ...gw,
    s3,
    async close() {
      await s3?.close();
      await gw.close();
      await client.close();
    },
  };
}
