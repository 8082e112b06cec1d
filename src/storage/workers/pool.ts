/**
 * Storage worker processes: the storage's listening socket is handed to `work_processes` child
 * processes, which accept connections beside the storage itself and serve downloads and upload
 * bodies on their own cores. What must stay single-writer stays here: a worker's finished temp
 * file is named, logged in the binlog and linked by this process's engine (one 'commit' message
 * per upload), every other command is relayed here over a loopback connection, the connection
 * caps are this process's, and a change to a file reaches every worker's download cache before
 * the change is acknowledged.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { FdfsError, type Logger, Status, toStatus } from '../../common/index.js';
import type { StorageConfig } from '../../config/types.js';
import { type ConnectionGuard, FrameReader, type PacketHandler, servePackets } from '../../protocol/index.js';
import type { StorageCounters } from '../counters.js';
import type { StorageEngine } from '../engine.js';
import { type FromWorker, RELAY_HELLO, type RelayAddress, type ToWorker } from './messages.js';

export interface PoolDeps {
  readonly config: StorageConfig;
  readonly engine: StorageEngine;
  readonly counters: StorageCounters;
  readonly guard: ConnectionGuard;
  /** The storage's listening socket, shared with the workers. */
  readonly server: Server;
  /** The storage's request handler, for relayed requests. */
  readonly handler: PacketHandler;
  readonly logger: Logger;
  readonly count: number;
}

interface Worker {
  readonly child: ChildProcess;
  /** Connection slots this worker holds, per address, released if it dies. */
  readonly slots: Map<string, number>;
  exited: boolean;
}

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.js', import.meta.url));
const FORGET_TIMEOUT_MS = 5000;

export class WorkerPool {
  private readonly workers = new Set<Worker>();
  private readonly relaySockets = new Set<Socket>();
  private readonly acks = new Map<number, { left: Set<Worker>; done: () => void }>();
  private nextId = 1;
  private closing = false;
  private readonly token = randomBytes(16).toString('hex');

  private constructor(
    private readonly deps: PoolDeps,
    private readonly relay: Server,
    private readonly relayAt: RelayAddress,
  ) {}

  static async start(deps: PoolDeps): Promise<WorkerPool> {
    const relay = createServer();
    // An abstract Unix socket on Linux: no TCP port, no file; elsewhere a loopback port.
    const where: RelayAddress =
      process.platform === 'linux'
        ? { path: `\0fdfs-storage-relay-${process.pid}-${randomBytes(6).toString('hex')}` }
        : { host: '127.0.0.1', port: 0 };
    await new Promise<void>((resolve, reject) => {
      relay.once('error', reject);
      relay.listen(where, () => {
        relay.off('error', reject);
        resolve();
      });
    });
    const bound = relay.address();
    const at: RelayAddress =
      typeof bound === 'object' && bound ? { host: '127.0.0.1', port: bound.port } : where;
    const pool = new WorkerPool(deps, relay, at);
    relay.on('connection', (s) => pool.relayed(s));
    try {
      await Promise.all(Array.from({ length: deps.count }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.size;
  }

  /** Tells every worker that `name` changed; resolves once all have dropped it (or died). */
  forget(name: string): Promise<void> {
    const live = [...this.workers].filter((w) => !w.exited && w.child.connected);
    if (live.length === 0) return Promise.resolve();
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), FORGET_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        this.acks.delete(id);
        resolve();
      };
      this.acks.set(id, { left: new Set(live), done: finish });
      for (const w of live) this.send(w, { t: 'forget', id, name });
    });
  }

  private send(w: Worker, m: ToWorker, handle?: Server): void {
    if (w.exited || !w.child.connected) return;
    try {
      if (handle) w.child.send(m, handle);
      else w.child.send(m);
    } catch (err) {
      this.deps.logger.warn('storage worker unreachable', { pid: w.child.pid, err });
    }
  }

  private spawn(): Promise<void> {
    const { config, logger } = this.deps;
    const child = fork(WORKER_MAIN, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const w: Worker = { child, slots: new Map(), exited: false };
    this.workers.add(w);
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: FromWorker) => {
        if (m.t === 'ready') resolve();
        else this.onMessage(w, m);
      });
      child.once('exit', (code, signal) => {
        reject(new FdfsError(Status.EIO, `storage worker exited before it was ready (${signal ?? code})`));
        this.onExit(w, code, signal);
      });
    });
    child.once('spawn', () =>
      this.send(w, { t: 'init', config, relay: this.relayAt, token: this.token }, this.deps.server),
    );
    return ready.then(() => logger.debug('storage worker ready', { pid: child.pid }));
  }

  private onMessage(w: Worker, m: FromWorker): void {
    const { engine, guard, counters } = this.deps;
    switch (m.t) {
      case 'commit':
        engine.commitTemp(m.tmp, m.pathIndex, m.ext, m.kind).then(
          (remote) => this.send(w, { t: 'committed', id: m.id, remote }),
          (err: unknown) =>
            this.send(w, { t: 'failed', id: m.id, status: toStatus(err), message: (err as Error).message }),
        );
        return;
      case 'forgot': {
        const a = this.acks.get(m.id);
        a?.left.delete(w);
        if (a && a.left.size === 0) a.done();
        return;
      }
      case 'admit': {
        const refused = guard.admit(m.host) !== undefined;
        if (!refused) w.slots.set(m.host, (w.slots.get(m.host) ?? 0) + 1);
        else {
          const count = guard.refusalsToReport(Date.now());
          if (count > 0)
            this.deps.logger.warn('connections refused', {
              count,
              maxConnections: guard.maxConnections,
              maxPerHost: guard.maxPerHost,
            });
        }
        this.send(w, { t: 'admitted', id: m.id, refused });
        return;
      }
      case 'release': {
        const n = w.slots.get(m.host) ?? 0;
        if (n <= 0) return;
        if (n === 1) w.slots.delete(m.host);
        else w.slots.set(m.host, n - 1);
        guard.release(m.host);
        return;
      }
      case 'counters':
        counters.add(m.delta);
        return;
      default:
    }
  }

  private onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    w.exited = true;
    this.workers.delete(w);
    for (const [host, n] of w.slots) for (let i = 0; i < n; i++) this.deps.guard.release(host);
    w.slots.clear();
    for (const a of this.acks.values()) {
      a.left.delete(w);
      if (a.left.size === 0) a.done();
    }
    if (this.closing) return;
    this.deps.logger.error('storage worker died; starting another', { pid: w.child.pid, code, signal });
    setTimeout(() => {
      if (!this.closing)
        this.spawn().catch((err: unknown) => this.deps.logger.error('storage worker start failed', { err }));
    }, 1000).unref();
  }

  /** A worker's relay connection: its hello names the client, then requests run as if from it. */
  private relayed(socket: Socket): void {
    const { config, handler, logger } = this.deps;
    this.relaySockets.add(socket);
    socket.once('close', () => this.relaySockets.delete(socket));
    socket.on('error', () => {});
    const reader = new FrameReader(socket, 'storage worker');
    const token = Buffer.from(this.token);
    void (async () => {
      const h = await reader.readHeader();
      if (!h || h.cmd !== RELAY_HELLO || h.length > 512) throw new Error('no relay hello');
      const [tok, address, port] = (await reader.readExact(h.length)).toString('utf8').split('\0');
      const given = Buffer.from(tok ?? '');
      if (given.length !== token.length || !timingSafeEqual(given, token)) throw new Error('bad relay token');
      await servePackets(socket, handler, {
        logger,
        timeout: config.networkTimeout,
        closeAfterEinval: true,
        remote: { address: address ?? '', port: Number(port) },
        reader,
      });
    })().catch((err: unknown) => {
      logger.warn('storage relay connection refused', { err });
      socket.destroy();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const exits = [...this.workers].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exited) return resolve();
          w.child.once('exit', () => resolve());
          this.send(w, { t: 'close' });
          setTimeout(() => w.child.kill('SIGKILL'), 10_000).unref();
        }),
    );
    await Promise.all(exits);
    const closed = new Promise<void>((resolve) => this.relay.close(() => resolve()));
    for (const s of this.relaySockets) s.destroy();
    await closed;
  }
}
