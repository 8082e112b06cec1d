/** `fdfs tracker <conf>` and `fdfs storage <conf>`: one role per process, as FastDFS runs them. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, FdfsError, Status } from '../common/index.js';
import { keysOf, loadStorageConfig, loadTrackerConfig } from '../config/index.js';
import { startStorage } from '../storage/index.js';
import { startTracker } from '../tracker/index.js';
import { overridesOf, parse, portOf } from './args.js';
import { budgetFor, capped } from './fd-budget.js';
import { startEmbeddedGateway } from './gateway.js';
import { acquirePidFile } from './pidfile.js';
import { runUntilSignal, Startup } from './run.js';
import { assertKnownStartKeys } from './unknown-keys.js';

export const roleHelp = `fdfs tracker <tracker.conf> [--set key=value ...]
fdfs storage <storage.conf> [--http-port N] [--set key=value ...]
  Runs one role from a FastDFS-format conf file; --set overrides any key (repeatable; a repeated
  key gives a list, like several tracker_server lines). With --http-port the storage also runs
  the HTTP gateway beside it (reading its disk directly), as nginx + fastdfs-nginx-module did;
  http.* keys go to that gateway through --set, and with s3.server_port it serves the S3 API too.
Example: fdfs storage conf/storage.conf --set port=23001 --set tracker_server=10.0.0.1:22122
Example: fdfs storage conf/storage.conf --http-port 8080 --set http.auth.api_key=$KEY`;

export async function roleCommand(role: 'tracker' | 'storage', argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, role === 'storage' ? { 'http-port': { type: 'string' } } : {});
  if (values.help) {
    process.stdout.write(`${roleHelp}\n`);
    return;
  }
  const confPath = positionals[0];
  if (!confPath)
    throw new FdfsError(
      Status.EINVAL,
      `fdfs ${role}: missing the conf file argument (see fdfs ${role} --help)`,
    );
  const sets = overridesOf(values.set as string[] | undefined);
  // The gateway beside it: a misspelt security key refuses before anything starts.
  if (role === 'storage' && values['http-port'] !== undefined)
    await assertKnownStartKeys(sets, ['storage', 'http'], confPath);
  const httpKeys = keysOf('http');
  const overrides = new Map([...sets].filter(([k]) => !/^(http|s3)\./.test(k) || !httpKeys.has(k)));
  const tracker = role === 'tracker' ? await loadTrackerConfig(confPath, overrides) : undefined;
  const storage = role === 'storage' ? await loadStorageConfig(confPath, overrides) : undefined;
  const loaded = tracker ?? storage;
  if (!loaded) return;
  const logger = createLogger({ level: loaded.config.logLevel });
  for (const w of loaded.warnings) logger.warn(w);
  await mkdir(loaded.config.basePath, { recursive: true });
  const httpPort = portOf(values['http-port'], '--http-port');
  const budget = await budgetFor(logger, { http: httpPort !== undefined, nativePorts: 1 });
  const startup = new Startup(logger);
  const { node, gateway } = await startup.run(async () => {
    startup.add('pid file', {
      close: await acquirePidFile(join(loaded.config.basePath, `fdfs-${role}.pid`)),
    });
    if (tracker) {
      return { node: startup.add(role, await startTracker(capped(tracker.config, budget), { logger })) };
    }
    if (!storage) throw new FdfsError(Status.EINVAL, `fdfs ${role}: no configuration`);
    const node = startup.add(role, await startStorage(capped(storage.config, budget), { logger }));
    if (httpPort === undefined) return { node };
    const gateway = startup.add(
      'gateway',
      await startEmbeddedGateway({
        sets,
        bind: storage.config.bindAddr || '0.0.0.0',
        port: httpPort,
        base: storage.config.basePath,
        binlogDir: join(storage.config.basePath, 'data', 'sync'),
        trackers: storage.config.trackerServers.map((t) => `${t.host}:${t.port}`),
        engine: node.engine,
        counters: node.counters,
        logger,
        ...(budget ? { maxConnections: budget.http } : {}),
      }),
    );
    return { node, gateway };
  });
  const http = gateway ? ` http=${gateway.address.host}:${gateway.address.port}` : '';
  const s3 = gateway?.s3 ? ` s3=${gateway.s3.address.host}:${gateway.s3.address.port}` : '';
  await runUntilSignal(
    logger,
    `fdfs ready ${role}=${node.address.host}:${node.address.port}${http}${s3}`,
    () => startup.closeAll(),
  );
}
