/**
 * Reports this storage to every tracker (FastDFS semantics: no tracker is special): join once per
 * connection, then heartbeats and disk usage on their intervals, reconnecting after any failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '../client/index.js';
import type { Logger } from '../common/index.js';
import type { HostPort, StorageConfig } from '../config/types.js';
import {
  Cmd,
  decodeJoinReply,
  encodeCounters,
  encodeDiskUsage,
  encodeJoin,
  PROTOCOL_VERSION,
} from '../protocol/index.js';
import type { StorageCounters } from './counters.js';
import type { StorePaths } from './store-paths.js';

export interface ReporterDeps {
  readonly config: StorageConfig;
  readonly port: () => number;
  readonly paths: StorePaths;
  readonly counters: StorageCounters;
  readonly logger: Logger;
  /** Called with the local address of a tracker link, the storage's ip as that tracker sees it. */
  readonly onLocalAddress: (ip: string) => void;
  /** Replication's share of the tracker link (sync/manager.ts); absent in tests of the reporter alone. */
  readonly sync?: ReporterSync;
}

/**
 * What replication adds to each tracker session: join fields, work after the join, and a
 * look at the group every cycle (afterBeat runs after beats and between them, see POLL_MS).
 */
export interface ReporterSync {
  joinFields(): { initFlag: number; status: number; storageId: string; extraLines: readonly string[] };
  afterJoin(conn: Connection, tracker: string): Promise<void>;
  afterBeat(conn: Connection, tracker: string): Promise<void>;
  lost(tracker: string): void;
  /** True when this tracker should get a beat now rather than at the interval (it lists us ONLINE). */
  wantsBeat?(tracker: string): boolean;
}

/**
 * Between beats the reporter still looks at the group this often (cmd 92, queued status
 * reports, a changed sync report). Storage changes travel only storage → tracker, so with
 * 30 s beats a newcomer waited beats of its source and of its own (about a minute) to turn
 * ACTIVE, and a restarted peer's sync lag stayed stale as long.
 */
export const POLL_MS = 1000;

export class TrackerReporter {
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly startTime = Math.floor(Date.now() / 1000);
  /** Trackers that accepted our join and the status they gave us, by "host:port". */
  readonly joined = new Map<string, number>();

  constructor(private readonly deps: ReporterDeps) {}

  start(): void {
    for (const t of this.deps.config.trackerServers) this.loops.push(this.run(t));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
  }

  private async run(tracker: HostPort): Promise<void> {
    const name = `${tracker.host}:${tracker.port}`;
    const log = this.deps.logger.child({ tracker: name });
    const signal = this.abort.signal;
    let backoff = 200;
    while (!signal.aborted) {
      let conn: Connection | undefined;
      try {
        conn = await this.connect(tracker);
        signal.addEventListener('abort', () => conn?.close(), { once: true });
        await this.session(conn, name, log);
        backoff = 200;
      } catch (err) {
        if (signal.aborted) break;
        this.deps.sync?.lost(name);
        if (this.joined.delete(name)) log.warn('lost tracker', { err });
        else log.debug('tracker unreachable', { err });
      } finally {
        conn?.close();
      }
      await sleep(backoff, undefined, { signal }).catch(() => {});
      backoff = Math.min(backoff * 2, Math.max(this.deps.config.heartBeatInterval, 1000));
    }
  }

  private async connect(t: HostPort): Promise<Connection> {
    const { config } = this.deps;
    const bind = config.bindAddr && config.bindAddr !== '0.0.0.0' ? { localAddress: config.bindAddr } : {};
    return Connection.open({
      host: t.host,
      port: t.port,
      connectTimeout: config.connectTimeout,
      // The link idles between heartbeats; it must outlive the interval or it would time out.
      networkTimeout: Math.max(
        config.networkTimeout,
        config.heartBeatInterval * 2,
        config.statReportInterval * 2,
      ),
      ...bind,
    });
  }

  private async session(conn: Connection, name: string, log: Logger): Promise<void> {
    const { config, paths, counters } = this.deps;
    const local = conn.socket.localAddress?.replace(/^::ffff:/, '');
    if (local) this.deps.onLocalAddress(local);
    const sync = this.deps.sync?.joinFields();
    const reply = decodeJoinReply(
      await conn.call(
        Cmd.STORAGE_JOIN,
        encodeJoin({
          group: config.groupName,
          storagePort: this.deps.port(),
          storePathCount: paths.count,
          subdirCountPerPath: config.subdirCountPerPath,
          uploadPriority: config.uploadPriority,
          joinTime: this.startTime,
          upTime: this.startTime,
          version: PROTOCOL_VERSION,
          initFlag: sync?.initFlag ?? 0,
          status: sync?.status ?? 0,
          storageId: sync?.storageId ?? '',
          currentTrackerIp: conn.opts.host,
          // A stock tracker parses tracker_count lines as addresses: ours follow, uncounted.
          trackers: config.trackerServers.map((t) => `${t.host}:${t.port}`),
          extraLines: sync?.extraLines ?? [],
        }),
      ),
    );
    this.joined.set(name, reply.status);
    log.info('joined tracker', { status: reply.status });
    await this.deps.sync?.afterJoin(conn, name);
    let sentVersion = -1;
    let lastDisk = 0;
    let lastBeat = 0;
    const signal = this.abort.signal;
    for (;;) {
      if (Date.now() - lastDisk >= config.statReportInterval) {
        await conn.call(Cmd.STORAGE_REPORT_DISK_USAGE, encodeDiskUsage(await paths.refreshUsage()));
        lastDisk = Date.now();
      }
      if (Date.now() - lastBeat >= config.heartBeatInterval || this.deps.sync?.wantsBeat?.(name)) {
        const changed = counters.version !== sentVersion;
        counters.values.lastHeartBeatTime = Math.floor(Date.now() / 1000);
        await conn.call(Cmd.STORAGE_BEAT, changed ? encodeCounters(counters.values) : undefined);
        sentVersion = counters.version;
        lastBeat = Date.now();
      }
      await this.deps.sync?.afterBeat(conn, name);
      const nextBeat = Math.max(0, lastBeat + config.heartBeatInterval - Date.now());
      await sleep(this.deps.sync ? Math.min(POLL_MS, nextBeat) : nextBeat, undefined, { signal });
    }
  }
}
