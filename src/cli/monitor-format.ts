/** Renders group and storage stats the way fdfs_monitor prints them (pure; no I/O). */
import { type PeerSync, peerSync } from '../client/index.js';
import {
  type GroupStat,
  STAT_COUNTER_NAMES,
  type StorageStat,
  type SyncStatusRow,
  storageStatusName,
} from '../protocol/index.js';
import { formatDatetime, humanMb } from './output.js';

export interface GroupReport {
  readonly group: GroupStat;
  readonly storages: readonly StorageStat[];
  /** The tracker's per-peer matrix (121); absent from a FastDFS tracker, which lacks it. */
  readonly syncStatus?: readonly SyncStatusRow[];
}

/** How far a storage is behind its peers, fdfs_monitor's way (see syncLag). */
export interface SyncLag {
  /** Seconds behind the newest source update of the other storages; null when not applicable. */
  readonly seconds: number | null;
  readonly neverSynced: boolean;
  /** `(5s delay)`, `(01m:40s delay)`, `(never synced)` or '' when no peer has written anything. */
  readonly text: string;
}

/**
 * fdfs_monitor's "synced delay": the newest `last_source_update` among the *other* storages of
 * the group, minus this storage's `last_synced_timestamp` (what it holds from its peers).
 */
export function syncLag(s: StorageStat, group: readonly StorageStat[]): SyncLag {
  let newest = 0;
  for (const p of group) if (p !== s) newest = Math.max(newest, p.counters.lastSourceUpdate);
  if (newest === 0) return { seconds: null, neverSynced: false, text: '' };
  if (s.counters.lastSyncedTimestamp === 0)
    return { seconds: null, neverSynced: true, text: '(never synced)' };
  const seconds = Math.max(0, newest - s.counters.lastSyncedTimestamp);
  return { seconds, neverSynced: false, text: `(${formatDelay(seconds)} delay)` };
}

/** 5 → `5s`, 100 → `01m:40s`, 3700 → `01h:01m:40s`, 2 days → `2 days 00h:00m:00s`. */
export function formatDelay(total: number): string {
  const day = Math.floor(total / 86400);
  const hour = Math.floor((total % 86400) / 3600);
  const minute = Math.floor((total % 3600) / 60);
  const second = total % 60;
  const p = (n: number) => String(n).padStart(2, '0');
  if (day !== 0) return `${day} days ${p(hour)}h:${p(minute)}m:${p(second)}s`;
  if (hour !== 0) return `${p(hour)}h:${p(minute)}m:${p(second)}s`;
  if (minute !== 0) return `${p(minute)}m:${p(second)}s`;
  return `${second}s`;
}

const RW_MODES: Record<number, string> = {
  0: 'none (disabled)',
  4: 'readonly',
  2: 'writeonly',
  6: 'both (normal)',
};

/** totalUploadCount → total_upload_count, as fdfs_monitor labels the counters. */
const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function space(prefix: string, total: number, free: number, reserved: number): string[] {
  return [
    `${prefix}disk total space     = ${humanMb(total).padStart(7)}`,
    `${prefix}disk free space      = ${humanMb(free).padStart(7)}`,
    `${prefix}disk reserved space  = ${humanMb(reserved).padStart(7)}`,
    `${prefix}disk available space = ${humanMb(Math.max(0, free - reserved)).padStart(7)}`,
  ];
}

/** `synced from 127.0.0.3 until 2026-11-22 03:01:02 (delay 3s)`; the ip too when ids are in use. */
export function peerLine(p: PeerSync, group: readonly StorageStat[]): string {
  const ip = group.find((s) => s.id === p.source)?.ip;
  const who = ip && ip !== p.source ? `${p.source} (${ip})` : p.source;
  if (p.syncedUntil === 0)
    return `synced from ${who} until - (${p.neverSynced ? 'never synced' : 'nothing to sync'})`;
  return `synced from ${who} until ${formatDatetime(p.syncedUntil)} (delay ${formatDelay(p.lag ?? 0)})`;
}

function storageLines(s: StorageStat, k: number, report: GroupReport): string[] {
  const group = report.storages;
  const c = s.counters;
  const t = '\t\t';
  const lines = [
    `\tStorage ${k}:`,
    `${t}id = ${s.id}`,
    `${t}ip_addr = ${s.ip}  ${storageStatusName(s.status)}`,
    `${t}read write mode = ${RW_MODES[s.rwMode] ?? 'unknown'}`,
    `${t}version = ${s.version}`,
    `${t}join time = ${formatDatetime(s.joinTime)}`,
    `${t}up time = ${s.upTime === 0 ? '' : formatDatetime(s.upTime)}`,
    ...space(t, s.totalMb, s.freeMb, s.reservedMb),
    `${t}upload priority = ${s.uploadPriority}`,
    `${t}store_path_count = ${s.storePathCount}`,
    `${t}subdir_count_per_path = ${s.subdirCountPerPath}`,
    `${t}storage_port = ${s.storagePort}`,
    `${t}current_write_path = ${s.currentWritePath}`,
    `${t}source storage id = ${s.srcId}`,
    `${t}if_trunk_server = ${s.ifTrunkServer ? 1 : 0}`,
    `${t}connection.alloc_count = ${c.connAllocCount}`,
    `${t}connection.current_count = ${c.connCurrentCount}`,
    `${t}connection.max_count = ${c.connMaxCount}`,
  ];
  for (const name of STAT_COUNTER_NAMES) {
    if (!name.startsWith('last')) lines.push(`${t}${snake(name)} = ${c[name]}`);
  }
  lines.push(
    `${t}last_heart_beat_time = ${formatDatetime(c.lastHeartBeatTime)}`,
    `${t}last_source_update = ${formatDatetime(c.lastSourceUpdate)}`,
    `${t}last_sync_update = ${formatDatetime(c.lastSyncUpdate)}`,
    `${t}last_synced_timestamp = ${formatDatetime(c.lastSyncedTimestamp)} ${syncLag(s, group).text}`.trimEnd(),
  );
  if (report.syncStatus) {
    for (const p of peerSync(s.id, report.syncStatus, group)) lines.push(`${t}${peerLine(p, group)}`);
  }
  return lines;
}

function groupLines(report: GroupReport): string[] {
  const { group: g, storages } = report;
  const lines = [`group name = ${g.groupName}`, ...space('', g.totalMb, g.freeMb, g.reservedMb)];
  if (g.currentTrunkFileId >= 0) lines.push(`trunk free space = ${humanMb(g.trunkFreeMb).padStart(7)}`);
  lines.push(
    `storage server count = ${g.storageCount}`,
    `readable server count = ${g.readableCount}`,
    `writable server count = ${g.writableCount}`,
    `storage server port = ${g.storagePort}`,
    `store path count = ${g.storePathCount}`,
    `subdir count per path = ${g.subdirCountPerPath}`,
    `current write server index = ${g.currentWriteServer}`,
    '',
  );
  storages.forEach((s, i) => {
    lines.push(...storageLines(s, i + 1, report));
  });
  return lines;
}

/** The whole fdfs_monitor `list` report; `one` prints a single group without the count header. */
export function monitorText(
  tracker: { index: number; count: number; address: string; leader?: string | undefined },
  reports: readonly GroupReport[],
  one: boolean,
): string {
  const lines = [
    `server_count=${tracker.count}, server_index=${tracker.index}`,
    '',
    `tracker server is ${tracker.address}`,
  ];
  // fdfs_monitor does not say which tracker leads; this line does (cmd 95), when the tracker knows.
  if (tracker.leader !== undefined) lines.push(`tracker leader is ${tracker.leader}`);
  lines.push('');
  if (!one) lines.push(`group count: ${reports.length}`);
  reports.forEach((r, i) => {
    if (!one) lines.push('', `Group ${i + 1}:`);
    lines.push(...groupLines(r));
  });
  return `${lines.join('\n')}\n`;
}

/** `--brief`: one line per group and per storage, with heartbeat age and sync lag. */
export function briefText(address: string, reports: readonly GroupReport[], nowSeconds: number): string {
  const lines = [`tracker ${address}`];
  for (const { group: g, storages } of reports) {
    lines.push(
      `${g.groupName}  ${storages.length} storage(s), ${g.readableCount} readable, ${g.writableCount} writable` +
        `  free ${humanMb(g.freeMb)} of ${humanMb(g.totalMb)}`,
    );
    for (const s of storages) {
      const beat = s.counters.lastHeartBeatTime;
      const age = beat > 0 ? `heartbeat ${Math.max(0, nowSeconds - beat)}s ago` : 'no heartbeat';
      const lag = syncLag(s, storages);
      const lagText = lag.neverSynced
        ? 'never synced'
        : lag.seconds === null
          ? '-'
          : formatDelay(lag.seconds);
      lines.push(
        `  ${`${s.ip}:${s.storagePort}`.padEnd(21)} ${storageStatusName(s.status).padEnd(9)} ` +
          `free ${humanMb(s.freeMb)} of ${humanMb(s.totalMb)}  ${age}  sync lag ${lagText}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
