/** The tracker daemon: a thin TCP adapter over the cluster model, its state file and a sweep timer. */
import { mkdir } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../common/index.js';
import { allowHostsFilter, loadStorageIds, StorageIdList } from '../config/index.js';
import type { TrackerConfig } from '../config/types.js';
import {
  Cmd,
  ConnectionGuard,
  cmdName,
  encodePacket,
  type Header,
  listenOn,
  type PacketContext,
  PROTOCOL_VERSION,
  servePackets,
  unknownCommand,
} from '../protocol/index.js';
import { Cluster } from './cluster.js';
import {
  type CommandHandler,
  type ConnectionState,
  StorageLinks,
  stripMappedPrefix,
  type TrackerContext,
} from './context.js';
import { adminHandlers } from './handlers-admin.js';
import { clusterHandlers } from './handlers-cluster.js';
import { leaderHandlers } from './handlers-leader.js';
import { queryHandlers, syncQueryHandlers } from './handlers-query.js';
import { storageHandlers } from './handlers-storage.js';
import { syncHandlers } from './handlers-sync.js';
import { PeerLink } from './peer-link.js';
import { Relationship } from './relationship.js';
import { restoreCluster, snapshotCluster } from './snapshot.js';
import { loadState, StatePersister, stateFilePath } from './state-store.js';
import { trunkHandlers } from './trunk.js';

/** Largest query body answered on the fast path (a fetch query's is under 16 + 128). */
const FAST_MAX_BODY = 256;

/** Upstream max_buff_size (128 KB): no tracker request body may be larger; refused before allocation. */
export const TRACKER_MAX_BODY = 128 * 1024;

export interface TrackerDeps {
  readonly logger: Logger;
  /** Clock in ms; defaults to Date.now. */
  readonly now?: () => number;
  /** Delay before a routine state save (beats, reports); joins and deletes save at once. Default 1000. */
  readonly saveDebounceMs?: number;
  /** How often to look for silent storages; default half of check_active_interval, at most 60 s. */
  readonly sweepIntervalMs?: number;
  /** false: no election loop; a test drives `relationship.tick()` itself. Default true. */
  readonly electLeader?: boolean;
}

export interface TrackerHandle {
  readonly address: { readonly host: string; readonly port: number };
  /** The live model, for tests and status pages. */
  readonly cluster: Cluster;
  /** The cluster's trackers and the leader, for tests and status pages. */
  readonly relationship: Relationship;
  /** Stops accepting, drops connections, writes the state file one last time. */
  close(): Promise<void>;
}

const handlers: ReadonlyMap<number, CommandHandler> = new Map([
  ...queryHandlers,
  ...adminHandlers,
  ...storageHandlers,
  ...syncHandlers,
  ...clusterHandlers,
  ...leaderHandlers,
  ...trunkHandlers,
]);

export async function startTracker(config: TrackerConfig, deps: TrackerDeps): Promise<TrackerHandle> {
  const logger = deps.logger;
  const cluster = new Cluster(
    {
      checkActiveInterval: config.checkActiveInterval,
      storePath: config.storePath,
      storeServer: config.storeServer,
    },
    deps.now ?? Date.now,
  );
  const statePath = stateFilePath(config.basePath);
  await mkdir(dirname(statePath), { recursive: true });
  const saved = await loadState(statePath, logger);
  if (saved) {
    restoreCluster(cluster, saved);
    logger.info('tracker state loaded', { path: statePath, groups: saved.groups.length });
  }
  const persister = new StatePersister(
    statePath,
    () => snapshotCluster(cluster),
    logger,
    deps.saveDebounceMs,
  );
  const links = new StorageLinks();
  // As FastDFS: with use_storage_id the id list must load, or the tracker does not start.
  const storageIds = config.useStorageId
    ? new StorageIdList(await loadStorageIds(config.storageIdsFilename))
    : undefined;
  if (storageIds)
    logger.info('storage ids loaded', { path: config.storageIdsFilename, count: storageIds.entries.length });
  const bindIp = config.bindAddr && config.bindAddr !== '0.0.0.0' ? config.bindAddr : undefined;
  let listenPort = config.port;
  const relationship = new Relationship({
    port: () => listenPort,
    logger: logger.child({ part: 'relationship' }),
    // The leader's choice of trunk servers is ours (trunk.ts): trackers never name two at once.
    onTrunkServers: (rows) => {
      for (const row of rows) {
        const g = cluster.group(row.group);
        const id = row.trunkId === '' ? undefined : row.trunkId;
        if (!g) continue;
        g.trunkFromLeader = id;
        if (g.trunkServerId === id) continue;
        g.trunkServerId = id; // kept should this tracker lead next
        persister.saveSoon();
        logger.info('trunk server as the tracker leader names it', { group: row.group, trunkServer: id });
      }
    },
    now: deps.now ?? Date.now,
    hasGroups: () => cluster.groups.size > 0,
    version: PROTOCOL_VERSION,
    connect: (host, port) =>
      PeerLink.open({
        host,
        port,
        connectTimeout: config.connectTimeout,
        networkTimeout: config.networkTimeout,
        ...(bindIp ? { localAddress: bindIp } : {}),
      }),
  });
  if (bindIp) relationship.localIps.add(bindIp);
  const ctx: TrackerContext = {
    config,
    cluster,
    persister,
    logger,
    links,
    relationship,
    ...(storageIds ? { storageIds } : {}),
  };

  const cmdLog = (conn: ConnectionState, cmd: number): Logger => {
    conn.cmdLogs ??= new Map();
    let log = conn.cmdLogs.get(cmd);
    if (log === undefined) {
      log = conn.log.child({ cmd: cmdName(cmd) });
      conn.cmdLogs.set(cmd, log);
    }
    return log;
  };

  const dispatch = async (header: Header, p: PacketContext, conn: ConnectionState): Promise<void> => {
    // Read the whole body first (capped) so a refused request leaves the connection in sync.
    const body = await p.reader.readBody(header.length, TRACKER_MAX_BODY);
    const handler = handlers.get(header.cmd);
    if (!handler) throw unknownCommand(header);
    const log = cmdLog(conn, header.cmd);
    log.debug('request', { length: header.length });
    await p.reply(await handler(ctx, conn, body, log));
  };

  // Queries answered as they arrive (see FastHandler); a failing one returns false and goes the
  // usual way, which answers and logs the error.
  const fast = (header: Header, body: Buffer, socket: Socket, conn: ConnectionState): boolean => {
    const handler = syncQueryHandlers.get(header.cmd);
    if (!handler) return false;
    const log = cmdLog(conn, header.cmd);
    let reply: Buffer | undefined;
    try {
      reply = handler(ctx, conn, body, log);
    } catch {
      return false;
    }
    log.debug('request', { length: header.length });
    socket.write(encodePacket(Cmd.RESP, reply));
    return true;
  };

  const allowed = await allowHostsFilter(config.allowHosts, (name, err) =>
    logger.warn('allow_hosts: host name does not resolve; it allows nobody', { host: name, err }),
  );
  const sockets = new Set<Socket>();
  const server = createServer();
  const guard = new ConnectionGuard({
    maxConnections: config.maxConnections,
    maxPerHost: config.maxConnectionsPerHost,
  });
  server.on('connection', (socket) => {
    const peerIp = stripMappedPrefix(socket.remoteAddress ?? '');
    if (!allowed(peerIp)) {
      logger.warn('connection refused: not in allow_hosts', { peer: `${peerIp}:${socket.remotePort}` });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    const conn: ConnectionState = {
      peerIp,
      localIp: stripMappedPrefix(socket.localAddress ?? ''),
      log: logger.child({ peer: `${peerIp}:${socket.remotePort}` }),
    };
    socket.once('close', () => {
      sockets.delete(socket);
      const s = conn.storage;
      if (s && links.release(conn) && cluster.disconnect(s.group, s.id)) {
        conn.log.info('storage offline: connection closed', { group: s.group, storage: s.id });
        persister.saveSoon();
      }
    });
    void servePackets(socket, (header, p) => dispatch(header, p, conn), {
      logger,
      timeout: config.networkTimeout,
      firstHeaderTimeout: config.firstHeaderTimeout,
      closeAfterEinval: false,
      guard,
      fast: (header, body, s) => fast(header, body, s, conn),
      fastMaxBody: FAST_MAX_BODY,
    });
  });

  await listenOn(server, { role: 'tracker', host: config.bindAddr, port: config.port });
  server.on('error', (err) => logger.error('tracker server error', { err }));
  const addr = server.address() as AddressInfo;
  listenPort = addr.port;
  if (deps.electLeader !== false) relationship.start();
  logger.info('tracker listening', { host: addr.address, port: addr.port, groups: cluster.groups.size });

  const sweepEvery = deps.sweepIntervalMs ?? Math.max(100, Math.min(config.checkActiveInterval / 2, 60_000));
  const sweeper = setInterval(() => {
    const gone = cluster.sweep();
    for (const { group, storage } of gone) {
      logger.info('storage offline: no heartbeat', { group, storage: storage.id, ip: storage.ip });
    }
    if (gone.length > 0) persister.saveSoon();
  }, sweepEvery);
  sweeper.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(sweeper);
      await relationship.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      await persister.flush();
      logger.info('tracker stopped', { port: addr.port });
    })();
    return closing;
  };

  return { address: { host: addr.address, port: addr.port }, cluster, relationship, close };
}
