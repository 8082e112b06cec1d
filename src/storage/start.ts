/** startStorage(config, deps): opens the store, serves the wire protocol, reports to trackers. */
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../common/index.js';
import { allowHostsFilter, trunkConfigFromParameters } from '../config/index.js';
import type { StorageConfig } from '../config/types.js';
import { ConnectionGuard, listenOn, servePackets } from '../protocol/index.js';
import { Binlog } from './binlog.js';
import { StorageCounters } from './counters.js';
import { DiskThread } from './disk-thread.js';
import { DistPath } from './dist-path.js';
import { FAST_MAX_BODY, storageFastPath } from './download.js';
import { StorageEngine } from './engine.js';
import { NativeDisk } from './native-disk.js';
import { finishLoggedDeletes, removeStateTemps } from './recover.js';
import { TrackerReporter } from './reporter.js';
import { storageHandler } from './service.js';
import { StorePaths } from './store-paths.js';
import { SyncManager } from './sync/index.js';
import { Trunks } from './trunk/index.js';
import { WorkerPool } from './workers/pool.js';

export interface StorageNode {
  readonly address: { host: string; port: number };
  readonly engine: StorageEngine;
  readonly reporter: TrackerReporter;
  readonly sync: SyncManager;
  /** Operation counters of the heartbeat; the gateway beside this storage adds its own work. */
  readonly counters: StorageCounters;
  /** Trunk files: settings from the trackers, the trunk server role when this storage has it. */
  readonly trunks: Trunks;
  close(): Promise<void>;
}

function advertised(config: StorageConfig): string | undefined {
  if (config.advertiseAddr) return config.advertiseAddr;
  if (config.bindAddr && config.bindAddr !== '0.0.0.0') return config.bindAddr;
  return undefined;
}

export async function startStorage(config: StorageConfig, deps: { logger: Logger }): Promise<StorageNode> {
  const logger = deps.logger.child({ role: 'storage', group: config.groupName });
  const paths = new StorePaths(config.storePaths, config.reservedStorageSpace);
  await paths.init();
  const dataDir = join(config.basePath, 'data');
  await removeStateTemps([dataDir, join(dataDir, 'sync'), join(dataDir, 'trunk')], logger);
  // Non-durable uploads and binlog lines go to the addon's one-thread lane of file jobs, or a
  // disk thread where the addon is not built; durable ones wait on fsyncs the addon's disk lane
  // (or libuv's pool) overlaps.
  const disk = config.durableWrites ? undefined : (NativeDisk.start() ?? DiskThread.start());
  const binlog = new Binlog(join(dataDir, 'sync'), config.durableWrites, disk);
  await binlog.open();
  const dist = new DistPath(
    join(dataDir, 'storage_stat.dat'),
    config.fileDistributePathMode,
    config.subdirCountPerPath,
    config.fileDistributeRotateCount,
  );
  await dist.load();
  const trunks = new Trunks({
    config,
    paths,
    dist,
    logger,
    flag: () => sync.self.flag,
    binlogDir: binlog.dir,
    binlogIndex: () => binlog.currentIndex,
  });
  await finishLoggedDeletes(binlog, paths, logger, trunks);
  let sourceIp = advertised(config) ?? '127.0.0.1';
  const fixedIp = advertised(config) !== undefined;
  const counters = new StorageCounters();
  const engine = new StorageEngine({
    config,
    paths,
    binlog,
    dist,
    logger,
    sourceIp: () => sourceIp,
    // Called per upload, after `sync` below exists.
    sourceId: () => sync.fileSource(),
    trunk: trunks,
    ...(disk ? { disk } : {}),
  });
  let listenPort = config.port;
  const sync = new SyncManager({
    engine,
    binlog,
    counters,
    logger,
    dataDir,
    port: () => listenPort,
    onParameters: (text) => {
      try {
        trunks.configure(trunkConfigFromParameters(text));
      } catch (err) {
        logger.error('trunk settings from the tracker refused', { err });
      }
    },
    onGroupList: (list, myId, tracker) => trunks.observe(list, myId, tracker),
    onTrackerLost: (tracker) => trunks.forgetTracker(tracker),
  });
  await sync.init();
  const handler = storageHandler(engine, counters, sync.receiver);
  const fast = storageFastPath(engine, engine.group, counters);
  const sockets = new Set<import('node:net').Socket>();
  const allowed = await allowHostsFilter(config.allowHosts, (name, err) =>
    logger.warn('allow_hosts: host name does not resolve; it allows nobody', { host: name, err }),
  );

  const guard = new ConnectionGuard({
    maxConnections: config.maxConnections,
    maxPerHost: config.maxConnectionsPerHost,
  });
  const server = createServer({ pauseOnConnect: false }, (socket) => {
    if (!allowed(socket.remoteAddress ?? '')) {
      logger.warn('connection refused: not in allow_hosts', {
        peer: `${socket.remoteAddress}:${socket.remotePort}`,
      });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    counters.connection(1);
    void servePackets(socket, handler, {
      logger,
      timeout: config.networkTimeout,
      firstHeaderTimeout: config.firstHeaderTimeout,
      closeAfterEinval: true,
      guard,
      fast,
      fastMaxBody: FAST_MAX_BODY,
    }).finally(() => {
      sockets.delete(socket);
      counters.connection(-1);
    });
  });
  await listenOn(server, { role: 'storage', host: config.bindAddr, port: config.port }).catch(
    async (err: unknown) => {
      // Nothing of this storage may outlive a failed start (fdfs exits with the listen errno).
      await sync.close();
      await trunks.close();
      await binlog.close();
      await disk?.close();
      throw err;
    },
  );
  let pool: WorkerPool | undefined;
  if (config.workProcesses > 0) {
    const count = config.workProcesses;
    pool = await WorkerPool.start({ config, engine, counters, guard, server, handler, logger, count }).catch(
      async (err: unknown) => {
        server.close();
        await sync.close();
        await trunks.close();
        await binlog.close();
        await disk?.close();
        throw err;
      },
    );
    const workers = pool;
    engine.forgetElsewhere = (name) => workers.forget(name);
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const host = typeof addr === 'object' && addr ? addr.address : config.bindAddr;
  listenPort = port;

  const reporter = new TrackerReporter({
    config,
    paths,
    counters,
    logger,
    port: () => port,
    onLocalAddress: (ip) => {
      if (!fixedIp) sourceIp = ip;
    },
    sync,
  });
  reporter.start();
  const distTimer = setInterval(() => void dist.save().catch(() => {}), 1000);
  distTimer.unref();
  logger.info('storage listening', {
    host,
    port,
    storePaths: config.storePaths.length,
    durable: config.durableWrites,
    workers: pool?.size ?? 0,
  });

  return {
    address: { host, port },
    engine,
    reporter,
    sync,
    counters,
    trunks,
    async close() {
      clearInterval(distTimer);
      await reporter.stop();
      await sync.close();
      await pool?.close();
      engine.forgetElsewhere = undefined;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.end();
      setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 2000).unref();
      await closed;
      await trunks.close();
      await dist.save();
      // The binlog hands its last lines to the disk writer and waits for them; then it can go.
      await binlog.close();
      await disk?.close();
    },
  };
}
