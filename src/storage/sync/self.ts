/**
 * This storage's own first copy of its group's data, kept in `.data_init_flag`: after a join it
 * asks the tracker for a source (87), or tells a tracker the source another one named, or that
 * there was none (88);
 * after beats it notices the copy finished (a tracker lists it ONLINE/ACTIVE) or that a tracker
 * missed that, and tells it (76 about itself).
 */
import type { Connection } from '../../client/index.js';
import type { Logger } from '../../common/index.js';
import type { StorageConfig } from '../../config/types.js';
import {
  Cmd,
  decodeSyncSource,
  encodeStatusReport,
  encodeSyncSource,
  type StorageStat,
  StorageStatus,
  storageStatusName,
} from '../../protocol/index.js';
import type { InitFlag } from './init-flag.js';

/** What a join needs from the sync state (see TrackerReporter). */
export interface JoinFields {
  readonly initFlag: number;
  readonly status: number;
  readonly storageId: string;
  /** Extra lines after the tracker list (the advertise extension). */
  readonly extraLines: readonly string[];
}

const COPYING: ReadonlySet<number> = new Set([
  StorageStatus.INIT,
  StorageStatus.WAIT_SYNC,
  StorageStatus.SYNCING,
]);

export class SelfSync {
  private lock: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: StorageConfig,
    readonly flag: InitFlag,
    private readonly log: Logger,
  ) {}

  async init(): Promise<void> {
    await this.flag.load(Math.floor(Date.now() / 1000));
    const s = this.flag.state;
    this.log.info('sync state', {
      syncOldDone: s.syncOldDone,
      source: s.syncSrcServer,
      until: s.syncUntilTimestamp,
    });
  }

  joinFields(): JoinFields {
    const done = this.flag.state.syncOldDone;
    const advertise = this.config.advertiseAddr;
    return {
      initFlag: done ? 0 : 1,
      status: done ? StorageStatus.ACTIVE : StorageStatus.INIT,
      storageId: this.config.serverId,
      extraLines: advertise ? [`advertise=${advertise}`] : [],
    };
  }

  /** One tracker at a time: the first to answer 87 decides, the others are told (88). */
  settleSource(conn: Connection, tracker: string): Promise<void> {
    const run = async () => {
      const s = this.flag.state;
      if (s.syncOldDone || s.syncSrcServer !== '') {
        // As FastDFS' storage does after every join: the source (88), empty when there was none.
        // A tracker listing this storage INIT with no source then takes it ONLINE; a FastDFS
        // tracker ignores the self report (76) below for an INIT storage, so this is the way
        // when another tracker answered the 87 first.
        await conn.call(
          Cmd.STORAGE_SYNC_NOTIFY,
          encodeSyncSource({ srcId: s.syncSrcServer, until: s.syncUntilTimestamp }),
        );
        return;
      }
      const src = decodeSyncSource(await conn.call(Cmd.STORAGE_SYNC_DEST_REQ));
      if (src) Object.assign(s, { syncSrcServer: src.srcId, syncUntilTimestamp: src.until });
      else s.syncOldDone = true;
      await this.flag.save();
      this.log.info(src ? 'copying old data from a peer' : 'no peer to copy old data from', {
        tracker,
        source: src?.srcId,
        until: src?.until,
      });
    };
    const next = this.lock.then(run);
    this.lock = next.catch(() => {});
    return next;
  }

  /** `me`: this storage as `tracker` lists it. */
  async check(conn: Connection, tracker: string, me: StorageStat): Promise<void> {
    const s = this.flag.state;
    const serving = me.status === StorageStatus.ONLINE || me.status === StorageStatus.ACTIVE;
    if (!s.syncOldDone && s.syncSrcServer !== '' && serving) {
      s.syncOldDone = true;
      await this.flag.save();
      this.log.info('old data copied; this storage now serves', { tracker, source: s.syncSrcServer });
    } else if (s.syncOldDone && COPYING.has(me.status)) {
      this.log.info('telling a tracker this storage holds its data', {
        tracker,
        status: storageStatusName(me.status),
      });
      const report = {
        group: this.config.groupName,
        status: StorageStatus.ONLINE,
        port: me.storagePort,
        id: me.id,
        ip: me.ip,
      };
      await conn.call(Cmd.STORAGE_REPORT_STATUS, encodeStatusReport(report));
    }
  }
}
