/**
 * The four data files a FastDFS tracker hands an empty peer tracker (cmds 61/63/62, the "sys
 * files" of tracker_mem.c): groups, storages, the sync-timestamp matrix and the storage change
 * log, in FastDFS' own text formats, rendered from our model. A stock tracker that starts empty
 * beside ours loads the cluster from them instead of refusing storage joins (EAGAIN) or starting
 * blank. Our tracker keeps its state in its own file and never fetches these.
 */
import { STAT_COUNTER_NAMES, type StatCounterName } from '../protocol/index.js';
import type { Cluster } from './cluster.js';
import type { StorageGroup } from './group.js';
import type { StorageNode } from './storage-node.js';

/** g_tracker_sys_filenames, in index order. */
export const SYS_FILE_NAMES = [
  'storage_groups_new.dat',
  'storage_servers_new.dat',
  'storage_sync_timestamp.dat',
  'storage_changelog.dat',
] as const;

/** The counters tracker_save_storages writes, in its order (no modify or truncate figures). */
const SAVED_COUNTERS: readonly StatCounterName[] = STAT_COUNTER_NAMES.filter(
  (n) => !/Modify|Truncate/.test(n) && n !== 'lastHeartBeatTime',
);

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const pad3 = (n: number) => String(n).padStart(3, '0');

function groupsFile(groups: readonly StorageGroup[]): string {
  let out = `[Global]\n\tgroup_count=${groups.length}\n\n`;
  groups.forEach((g, i) => {
    out +=
      `# group: ${g.name}\n[Group${pad3(i + 1)}]\n` +
      `\tgroup_name=${g.name}\n\tstorage_port=${g.storagePort}\n` +
      `\tstore_path_count=${g.storePathCount}\n\tsubdir_count_per_path=${g.subdirCountPerPath}\n` +
      // FastDFS writes storage ids here (the IP when ids are off, as our node ids are then).
      `\tcurrent_trunk_file_id=${g.currentTrunkFileId}\n\ttrunk_server=${g.trunkServerId ?? ''}\n` +
      `\tlast_trunk_server=${g.trunkServerId ?? ''}\n\n`;
  });
  return out;
}

function storageSection(g: StorageGroup, s: StorageNode, n: number, useStorageId: boolean): string {
  const lines: [string, string | number][] = [
    ...(useStorageId ? ([['id', s.id]] as [string, string][]) : []),
    ['group_name', g.name],
    ['ip_addr', s.ip],
    ['status', s.status],
    ['version', s.version],
    ['join_time', s.joinTime],
    ['storage_port', s.port],
    ['sync_src_server', s.syncSrcId],
    ['sync_until_timestamp', s.syncUntilTimestamp],
    ['total_mb', s.totalMb],
    ['free_mb', s.freeMb],
    ['changelog_offset', 0],
    ['store_path_count', s.storePathCount],
    ['subdir_count_per_path', s.subdirCountPerPath],
    ['upload_priority', s.uploadPriority],
    ...SAVED_COUNTERS.map((c): [string, number] => [snake(c), s.counters[c]]),
    ['last_heart_beat_time', Math.floor(s.lastHeartBeat / 1000)],
  ];
  const body = lines.map(([k, v]) => `\t${k}=${v}\n`).join('');
  return `# storage: ${s.ip}:${s.port}\n[Storage${pad3(n)}]\n${body}\n`;
}

function storagesFile(groups: readonly StorageGroup[], useStorageId: boolean): string {
  let out = '';
  let n = 0;
  for (const g of groups) for (const s of g.sorted()) out += storageSection(g, s, ++n, useStorageId);
  return `${out}\n[Global]\n\tstorage_count=${n}\n`;
}

/** One row per storage: group, id, then how far it holds each storage's files (0 for itself). */
function syncTimestampsFile(groups: readonly StorageGroup[]): string {
  let out = '';
  for (const g of groups) {
    const members = g.sorted();
    for (const dest of members) {
      const row = members.map((src) => (src === dest ? 0 : (dest.syncedFrom.get(src.id) ?? 0)));
      out += `${g.name},${dest.id},${row.join(',')}\n`;
    }
  }
  return out;
}

/** The four files as FastDFS writes them; the change log is empty (we keep none). */
export function renderSysFiles(cluster: Cluster, useStorageId: boolean): Buffer[] {
  const groups = cluster.sortedGroups();
  return [groupsFile(groups), storagesFile(groups, useStorageId), syncTimestampsFile(groups), ''].map((t) =>
    Buffer.from(t, 'utf8'),
  );
}
