/**
 * Replication for one storage: pushers to every peer of the group, the receiver for peers'
 * pushes, and this storage's own first copy of its group's data. It rides on the reporter's
 * tracker links (reporter.ts calls the hooks): after a join it asks for (87) or announces (88)
 * its sync source, after every beat it sends its sync report (89), queued status reports (76),
 * and reads the group's storage list (92) that decides whom to push to.
 */
import { lookup } from 'node:dns/promises';
import type { Connection } from '../../client/index.js';
import type { Logger } from '../../common/index.js';
import type { StorageConfig } from '../../config/types.js';
import { MAX_SERVER_ID, type SourceId } from '../../fileid/index.js';
import {
  Cmd,
  encodeStatusReport,
  encodeSyncReport,
  FdfsError,
  Status,
  type StatusReport,
  type StorageStat,
  StorageStatus,
} from '../../protocol/index.js';
import type { Binlog } from '../binlog.js';
import type { StorageCounters } from '../counters.js';
import type { StorageEngine } from '../engine.js';
import { InitFlag } from './init-flag.js';
import { MarkFile, markFileName } from './mark.js';
import { PeerGuard } from './peer-guard.js';
import { type PeerInfo, PeerViews } from './peers.js';
import { PeerPusher } from './pusher.js';
import { SyncReceiver } from './receiver.js';
import { type JoinFields, SelfSync } from './self.js';
import { listGroup, TrackerOps } from './tracker-ops.js';

export interface SyncManagerDeps {
  readonly engine: StorageEngine;
  readonly binlog: Binlog;
  readonly counters: StorageCounters;
  readonly logger: Logger;
  readonly dataDir: string;
  /** The port this storage listens on (known once it listens). */
  readonly port: () => number;
  /** The trackers' parameter text (cmd 75), after every join (trunk settings ride on it). */
  readonly onParameters?: (text: string) => void;
  /** A tracker's list of the group (cmd 92) and this storage's id, after every beat (the trunk server). */
  readonly onGroupList?: (
    list: readonly StorageStat[],
    myId: string | undefined,
    tracker: string,
  ) => Promise<void>;
  /** The link to a tracker was lost: its lists no longer count. */
  readonly onTrackerLost?: (tracker: string) => void;
}

export interface PeerSyncStatus {
  readonly id: string;
  readonly address: string;
  readonly binlogIndex: number;
  readonly binlogOffset: number;
  readonly syncRowCount: number;
  readonly needSyncOld: boolean;
  readonly syncOldDone: boolean;
  readonly lastError: string | undefined;
}

export class SyncManager {
  readonly receiver: SyncReceiver;
  readonly self: SelfSync;
  /** Which peers may push to this storage (the trackers' lists of the group). */
  readonly guard: PeerGuard;
  private readonly config: StorageConfig;
  private readonly log: Logger;
  private readonly views = new PeerViews();
  private readonly pushers = new Map<string, PeerPusher>();
  private readonly trackers: TrackerOps;
  /** Per tracker (host:port), status reports still to deliver, keyed by storage id + status. */
  private readonly pending = new Map<string, Map<string, StatusReport>>();
  private id: string | undefined;
  private closed = false;
  private readonly forgotten = new Set<string>();
  /** Per tracker, the sync report (89) it last got on its current link. */
  private readonly reported = new Map<string, string>();
  /** The trackers' id_type_in_filename (cmd 75) is `id`: new names carry the numeric id. */
  private idInFilename = false;

  constructor(private readonly deps: SyncManagerDeps) {
    this.config = deps.engine.deps.config;
    this.log = deps.logger.child({ part: 'sync' });
    this.id = this.config.serverId || undefined;
    this.trackers = new TrackerOps(this.config, this.log);
    this.guard = new PeerGuard({
      fetch: () => this.trackers.groupLists(),
      resolve: async (name) => (await lookup(name, { all: true })).map((a) => a.address),
      now: Date.now,
    });
    this.receiver = new SyncReceiver({ ...deps, logger: this.log, myId: () => this.id, guard: this.guard });
    this.self = new SelfSync(
      this.config,
      new InitFlag(deps.dataDir, deps.binlog.dir, this.config.durableWrites),
      this.log,
    );
    for (const t of this.config.trackerServers) this.pending.set(`${t.host}:${t.port}`, new Map());
  }

  async init(): Promise<void> {
    await this.self.init();
  }

  /** This storage's id as the trackers know it; undefined until a tracker listed it. */
  get myId(): string | undefined {
    return this.id;
  }

  joinFields(): JoinFields {
    return this.self.joinFields();
  }

  /** What new file names carry as their source: the numeric id when the trackers ask for it. */
  fileSource(): SourceId | undefined {
    if (!this.idInFilename || this.id === undefined || !/^\d{1,8}$/.test(this.id)) return undefined;
    const id = Number(this.id);
    return id >= 1 && id <= MAX_SERVER_ID ? { kind: 'id', id } : undefined;
  }

  /** After a join: the trackers' parameters, and a storage missing its group's old data settles on one source. */
  async afterJoin(conn: Connection, tracker: string): Promise<void> {
    this.reported.delete(tracker);
    const params = (await conn.call(Cmd.STORAGE_PARAMETER_REQ)).toString('utf8');
    this.idInFilename = /^id_type_in_filename=id$/m.test(params);
    this.deps.onParameters?.(params);
    return this.self.settleSource(conn, tracker);
  }

  /** After a beat: sync report, the group's list, this storage's own status, queued reports. */
  async afterBeat(conn: Connection, tracker: string): Promise<void> {
    // Sent when it changed (or first on this link), not only with beats: a tracker learns
    // within a poll how far this storage holds each peer, e.g. right after a restart. Also when
    // the tracker's ACTIVE set changed: it takes rows of ACTIVE sources only (FastDFS' drops the
    // others), so a report sent before a source came back would stay unheard.
    const rows = this.receiver.reportRows();
    const key = JSON.stringify([rows, this.views.activeIds(tracker)]);
    if (rows.length > 0 && this.reported.get(tracker) !== key) {
      await conn.call(Cmd.STORAGE_SYNC_REPORT, encodeSyncReport(rows));
      this.reported.set(tracker, key);
    }
    const list = await listGroup(conn, this.config.groupName);
    this.views.update(tracker, list, Date.now());
    this.guard.update(tracker, list);
    this.resolveSelf(conn, tracker);
    await this.deps.onGroupList?.(list, this.id, tracker);
    const me = this.id === undefined ? undefined : this.views.self(tracker, this.id);
    if (me) await this.self.check(conn, tracker, me);
    const queue = this.pending.get(tracker);
    for (const [key, report] of queue ?? []) {
      try {
        await conn.call(Cmd.STORAGE_REPORT_STATUS, encodeStatusReport(report));
      } catch (err) {
        if (!(err instanceof FdfsError) || err.status === Status.ECONNRESET || err.status === Status.EIO)
          throw err;
        this.log.info('status report refused', { tracker, storage: report.id, status: report.status, err });
      }
      queue?.delete(key);
    }
    this.reconcile();
  }

  /** The reporter lost this tracker: its view no longer counts. */
  lost(tracker: string): void {
    this.deps.onTrackerLost?.(tracker);
    this.views.drop(tracker);
    this.reported.delete(tracker);
  }

  /** The tracker lists this storage ONLINE: its copy is done, a beat now makes it ACTIVE. */
  wantsBeat(tracker: string): boolean {
    const me = this.id === undefined ? undefined : this.views.self(tracker, this.id);
    return me?.status === StorageStatus.ONLINE;
  }

  /** Without a configured server_id, this storage is the entry at the address and port it reported. */
  private resolveSelf(conn: Connection, tracker: string): void {
    if (this.id !== undefined) return;
    const ip = this.config.advertiseAddr || conn.socket.localAddress?.replace(/^::ffff:/, '') || '';
    const me = this.views.findSelf(tracker, ip, this.deps.port());
    if (me) {
      this.id = me.id;
      this.log.info('storage id', { id: me.id, tracker });
    } else {
      this.log.warn('this storage is not listed by its address; is another storage of the group on it?', {
        tracker,
        ip,
        port: this.deps.port(),
      });
    }
  }

  /** Queues a report about `peer` for every tracker (delivered with the next beats). */
  private reportStatus(peer: PeerInfo, status: number): void {
    const report = { group: this.config.groupName, status, port: peer.port, id: peer.id, ip: peer.ip };
    for (const queue of this.pending.values()) queue.set(`${peer.id}/${status}`, report);
  }

  /** Starts, updates and stops pushers to match the merged peer list. */
  private reconcile(): void {
    const myId = this.id;
    if (myId === undefined || this.closed) return;
    const { peers, deleted } = this.views.merged(myId);
    for (const [id, stat] of deleted) {
      if (this.forgotten.has(id)) continue;
      this.forgotten.add(id);
      const p = this.pushers.get(id);
      this.pushers.delete(id);
      if (p) this.log.info('peer deleted: sync stopped, mark removed', { peer: id });
      void (p
        ? p.stop(true)
        : new MarkFile(
            this.deps.binlog.dir,
            markFileName({ id: stat.id, ip: stat.ip, port: stat.storagePort }),
            false,
          ).remove());
    }
    for (const [id, info] of peers) {
      this.forgotten.delete(id);
      const existing = this.pushers.get(id);
      if (existing) {
        existing.update(info);
        continue;
      }
      const pusher = new PeerPusher(
        {
          engine: this.deps.engine,
          binlog: this.deps.binlog,
          counters: this.deps.counters,
          logger: this.log,
          syncDir: this.deps.binlog.dir,
          myId,
          trackers: this.trackers,
          reportStatus: (p, st) => this.reportStatus(p, st),
        },
        info,
      );
      this.pushers.set(id, pusher);
      pusher.start();
    }
  }

  /** Per peer: how far the push got (for monitoring and tests). */
  status(): PeerSyncStatus[] {
    return [...this.pushers.values()].map((p) => ({
      id: p.id,
      address: p.address,
      binlogIndex: p.mark?.binlogIndex ?? 0,
      binlogOffset: p.mark?.binlogOffset ?? 0,
      syncRowCount: p.mark?.syncRowCount ?? 0,
      needSyncOld: p.mark?.needSyncOld ?? false,
      syncOldDone: p.mark?.syncOldDone ?? false,
      lastError: p.lastError,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pushers.values()].map((p) => p.stop()));
    this.pushers.clear();
  }
}
