/**
 * A storage worker process (see pool.ts): accepts connections on the storage's listening socket,
 * serves downloads (with its own small-file cache) and upload bodies itself, and relays every
 * other command to the storage. It stops when the storage says so or goes away; signals are the
 * storage's to handle (Ctrl-C reaches the whole process group).
 */
import type { Server, Socket } from 'node:net';
import { createLogger, FdfsError, Status } from '../../common/index.js';
import { allowHostsFilter } from '../../config/index.js';
import { formatFileId, validateExt, validateRemoteFilename } from '../../fileid/index.js';
import {
  Cmd,
  decodeDownload,
  decodeUploadPrefix,
  encodeUploadReply,
  type Header,
  type PacketContext,
  servePackets,
  UPLOAD_PREFIX_SIZE,
} from '../../protocol/index.js';
import { StorageCounters } from '../counters.js';
import { type DiskReader, FAST_MAX_BODY, sendDownload, storageFastPath } from '../download.js';
import { writeTemp } from '../durable.js';
import { ReadCache } from '../read-cache.js';
import { StorePaths } from '../store-paths.js';
import type { FromWorker, ToWorker, WorkerInit } from './messages.js';
import { Relay } from './relay.js';

const send = (m: FromWorker) => process.send?.(m);
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextId = 1;

function ask<T>(m: (id: number) => FromWorker): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    send(m(id));
  });
}

function settle(id: number, value: unknown, err?: Error): void {
  const p = pending.get(id);
  pending.delete(id);
  if (err) p?.reject(err);
  else p?.resolve(value);
}

async function run(init: WorkerInit, server: Server): Promise<void> {
  const { config } = init;
  const logger = createLogger({ level: config.logLevel }).child({ role: 'storage worker', pid: process.pid });
  const group = config.groupName;
  const paths = new StorePaths(config.storePaths, config.reservedStorageSpace);
  const usageTimer = setInterval(() => void paths.refreshUsage().catch(() => {}), 10_000);
  usageTimer.unref();
  const cache = new ReadCache({
    maxFileSize: config.cacheMaxFileSize,
    maxMemory: config.cacheMaxMemory,
    revalidateMs: config.cacheRevalidate,
  });
  const disk: DiskReader = {
    cache,
    fileId: (remote) => formatFileId(group, remote),
    resolvePath: (remote) => paths.resolve(remote),
    // Changes happen in the storage, which drops them from this cache before acknowledging them.
    busy: () => false,
  };
  const counters = new StorageCounters();
  const fast = storageFastPath(disk, group, counters);
  let reported = { ...counters.values };
  const report = () => {
    const delta = counters.changesSince(reported);
    reported = { ...counters.values };
    if (Object.keys(delta).length > 0) send({ t: 'counters', delta });
  };
  const reportTimer = setInterval(report, 500);
  reportTimer.unref();
  const sockets = new Set<Socket>();
  // Before any await: the storage may send a forget as soon as it has sent init.
  process.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'forget':
        cache.forget(m.name);
        send({ t: 'forgot', id: m.id });
        return;
      case 'committed':
        return settle(m.id, m.remote);
      case 'admitted':
        return settle(m.id, m.refused);
      case 'failed':
        return settle(m.id, undefined, new FdfsError(m.status, m.message));
      case 'close':
        server.close();
        for (const s of sockets) s.end();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2000).unref();
        void waitIdle(sockets).then(() => {
          report();
          clearInterval(reportTimer);
          clearInterval(usageTimer);
          process.disconnect();
        });
        return;
      default:
    }
  });
  await paths.refreshUsage();
  const allowed = await allowHostsFilter(config.allowHosts, () => {});
  const checkGroup = (g: string, remote: string) => {
    if (g !== group)
      throw new FdfsError(Status.EINVAL, `group "${g}" is not this storage's group "${group}"`, {
        fileId: `${g}/${remote}`,
      });
  };

  async function download(h: Header, ctx: PacketContext): Promise<void> {
    const q = decodeDownload(await ctx.reader.readBody(h.length, config.buffSize));
    validateRemoteFilename(q.remote);
    checkGroup(q.group, q.remote);
    counters.bytes('Download', await sendDownload(disk, ctx.socket, q));
  }

  async function upload(h: Header, ctx: PacketContext, kind: 'normal' | 'appender'): Promise<void> {
    if (h.length < UPLOAD_PREFIX_SIZE)
      throw new FdfsError(
        Status.EINVAL,
        `upload body of ${h.length} bytes is shorter than ${UPLOAD_PREFIX_SIZE}`,
      );
    const p = decodeUploadPrefix(await ctx.reader.readExact(UPLOAD_PREFIX_SIZE));
    if (p.size !== h.length - UPLOAD_PREFIX_SIZE)
      throw new FdfsError(Status.EINVAL, `upload file size ${p.size} does not match body length ${h.length}`);
    validateExt(p.ext);
    const pathIndex = paths.choose(p.storePathIndex, p.size);
    const tmp = await writeTemp(
      paths.tmpDir(pathIndex),
      ctx.reader.take(p.size),
      p.size,
      config.durableWrites,
    );
    const remote = await ask<string>((id) => ({ t: 'commit', id, tmp, pathIndex, ext: p.ext, kind }));
    counters.bytes('Upload', p.size);
    await ctx.reply(encodeUploadReply(group, remote));
  }

  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (!allowed(address)) {
      logger.warn('connection refused: not in allow_hosts', { peer: `${address}:${socket.remotePort}` });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    const relay = new Relay({ ...init.relay, token: init.token }, { address, port: socket.remotePort ?? 0 });
    void (async () => {
      if (await ask<boolean>((id) => ({ t: 'admit', id, host: address }))) {
        socket.destroy();
        return;
      }
      counters.connection(1);
      try {
        await servePackets(
          socket,
          (h, ctx) => {
            switch (h.cmd) {
              case Cmd.DOWNLOAD_FILE:
                return counters.track('Download', download(h, ctx));
              case Cmd.UPLOAD_FILE:
                return counters.track('Upload', upload(h, ctx, 'normal'));
              case Cmd.UPLOAD_APPENDER_FILE:
                return counters.track('Upload', upload(h, ctx, 'appender'));
              default:
                return relay.forward(h, ctx);
            }
          },
          {
            logger,
            timeout: config.networkTimeout,
            firstHeaderTimeout: config.firstHeaderTimeout,
            closeAfterEinval: true,
            fast,
            fastMaxBody: FAST_MAX_BODY,
          },
        );
      } finally {
        counters.connection(-1);
        send({ t: 'release', host: address });
      }
    })()
      .catch((err: unknown) => logger.info('connection dropped', { err }))
      .finally(() => {
        relay.close();
        sockets.delete(socket);
      });
  });

  send({ t: 'ready' });
}

async function waitIdle(sockets: Set<Socket>): Promise<void> {
  while (sockets.size > 0) await new Promise((r) => setTimeout(r, 20));
}

// Ctrl-C reaches the whole process group; the storage decides when its workers stop.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.once('disconnect', () => process.exit(0));
process.once('message', (m: ToWorker, server: Server) => {
  if (m.t !== 'init') return;
  run(m, server).catch((err: unknown) => {
    process.stderr.write(`storage worker: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
});
