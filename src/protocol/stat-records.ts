/**
 * Group and storage stat records (cmd 90/91/92, fact sheet §3.4) in both layouts: "current"
 * (113/487 bytes, fdfs_monitor ≥ 6.13.2, Java ≥ 1.35) and "classic" (105/612, older tools).
 */
import { FdfsError, Status } from '../common/index.js';
import { IP_ADDRESS_SIZE, STORAGE_ID_SIZE } from './constants.js';
import { BodyReader, BodyWriter } from './fields.js';

export type StatLayoutName = 'current' | 'classic';

export interface GroupStat {
  groupName: string;
  totalMb: number;
  freeMb: number;
  reservedMb: number;
  trunkFreeMb: number;
  storageCount: number;
  storagePort: number;
  storageHttpPort: number;
  readableCount: number;
  writableCount: number;
  activeCount: number;
  currentWriteServer: number;
  storePathCount: number;
  subdirCountPerPath: number;
  currentTrunkFileId: number;
}

/** The 42 int64 counters of stat_buff, in wire order after the three int32 connection counts. */
export const STAT_COUNTER_NAMES = [
  'totalUploadCount',
  'successUploadCount',
  'totalAppendCount',
  'successAppendCount',
  'totalModifyCount',
  'successModifyCount',
  'totalTruncateCount',
  'successTruncateCount',
  'totalSetMetaCount',
  'successSetMetaCount',
  'totalDeleteCount',
  'successDeleteCount',
  'totalDownloadCount',
  'successDownloadCount',
  'totalGetMetaCount',
  'successGetMetaCount',
  'totalCreateLinkCount',
  'successCreateLinkCount',
  'totalDeleteLinkCount',
  'successDeleteLinkCount',
  'totalUploadBytes',
  'successUploadBytes',
  'totalAppendBytes',
  'successAppendBytes',
  'totalModifyBytes',
  'successModifyBytes',
  'totalDownloadBytes',
  'successDownloadBytes',
  'totalSyncInBytes',
  'successSyncInBytes',
  'totalSyncOutBytes',
  'successSyncOutBytes',
  'totalFileOpenCount',
  'successFileOpenCount',
  'totalFileReadCount',
  'successFileReadCount',
  'totalFileWriteCount',
  'successFileWriteCount',
  'lastSourceUpdate',
  'lastSyncUpdate',
  'lastSyncedTimestamp',
  'lastHeartBeatTime',
] as const;
export type StatCounterName = (typeof STAT_COUNTER_NAMES)[number];
export type StatCounters = Record<StatCounterName, number> & {
  connAllocCount: number;
  connCurrentCount: number;
  connMaxCount: number;
};
export const STAT_BUFF_SIZE = 12 + STAT_COUNTER_NAMES.length * 8; // 348

export function emptyCounters(): StatCounters {
  const c = { connAllocCount: 0, connCurrentCount: 0, connMaxCount: 0 } as StatCounters;
  for (const n of STAT_COUNTER_NAMES) c[n] = 0;
  return c;
}

export function writeCounters(w: BodyWriter, c: StatCounters): void {
  w.int32(c.connAllocCount).int32(c.connCurrentCount).int32(c.connMaxCount);
  for (const n of STAT_COUNTER_NAMES) w.int64(Math.trunc(c[n]));
}

export function readCounters(r: BodyReader): StatCounters {
  const c = emptyCounters();
  c.connAllocCount = r.int32();
  c.connCurrentCount = r.int32();
  c.connMaxCount = r.int32();
  for (const n of STAT_COUNTER_NAMES) c[n] = r.int64();
  return c;
}

export function encodeCounters(c: StatCounters): Buffer {
  const w = new BodyWriter(STAT_BUFF_SIZE);
  writeCounters(w, c);
  return w.buf;
}

export const GROUP_STAT_SIZE: Record<StatLayoutName, number> = { current: 113, classic: 105 };
export const STORAGE_STAT_SIZE: Record<StatLayoutName, number> = { current: 487, classic: 612 };

export function encodeGroupStat(g: GroupStat, layout: StatLayoutName): Buffer {
  const w = new BodyWriter(GROUP_STAT_SIZE[layout]).fixed(g.groupName, 17).int64(g.totalMb).int64(g.freeMb);
  if (layout === 'current') {
    w.int64(g.reservedMb).int64(g.trunkFreeMb).int64(g.storageCount).int64(g.storagePort);
    w.int64(g.readableCount).int64(g.writableCount);
  } else {
    w.int64(g.trunkFreeMb).int64(g.storageCount).int64(g.storagePort).int64(g.storageHttpPort);
    w.int64(g.activeCount);
  }
  w.int64(g.currentWriteServer)
    .int64(g.storePathCount)
    .int64(g.subdirCountPerPath)
    .int64(g.currentTrunkFileId);
  return w.buf;
}

export function decodeGroupStats(body: Buffer, layout: StatLayoutName): GroupStat[] {
  const size = GROUP_STAT_SIZE[layout];
  if (body.length % size !== 0)
    throw new FdfsError(Status.EINVAL, `group stat body ${body.length} is not a multiple of ${size}`);
  const out: GroupStat[] = [];
  const r = new BodyReader(body, 'group stat');
  for (let i = 0; i < body.length / size; i++) {
    const g = { groupName: r.fixed(17), totalMb: r.int64(), freeMb: r.int64() } as GroupStat;
    if (layout === 'current') {
      g.reservedMb = r.int64();
      g.trunkFreeMb = r.int64();
      g.storageCount = r.int64();
      g.storagePort = r.int64();
      g.readableCount = r.int64();
      g.writableCount = r.int64();
      g.activeCount = g.readableCount;
      g.storageHttpPort = 0;
    } else {
      g.reservedMb = 0;
      g.trunkFreeMb = r.int64();
      g.storageCount = r.int64();
      g.storagePort = r.int64();
      g.storageHttpPort = r.int64();
      g.activeCount = r.int64();
      g.readableCount = g.activeCount;
      g.writableCount = g.activeCount;
    }
    g.currentWriteServer = r.int64();
    g.storePathCount = r.int64();
    g.subdirCountPerPath = r.int64();
    g.currentTrunkFileId = r.int64();
    out.push(g);
  }
  return out;
}

export interface StorageStat {
  status: number;
  rwMode: number;
  id: string;
  ip: string;
  domainName: string;
  srcId: string;
  version: string;
  joinTime: number;
  upTime: number;
  totalMb: number;
  freeMb: number;
  reservedMb: number;
  uploadPriority: number;
  storePathCount: number;
  subdirCountPerPath: number;
  currentWritePath: number;
  storagePort: number;
  storageHttpPort: number;
  counters: StatCounters;
  ifTrunkServer: boolean;
}

export function encodeStorageStat(s: StorageStat, layout: StatLayoutName): Buffer {
  const w = new BodyWriter(STORAGE_STAT_SIZE[layout]).uint8(s.status);
  if (layout === 'current') {
    w.uint8(s.rwMode)
      .fixed(s.id, STORAGE_ID_SIZE)
      .fixed(s.ip, IP_ADDRESS_SIZE)
      .fixed(s.srcId, STORAGE_ID_SIZE);
    w.fixed(s.version, 8)
      .int64(s.joinTime)
      .int64(s.upTime)
      .int64(s.totalMb)
      .int64(s.freeMb)
      .int64(s.reservedMb);
    w.int64(s.uploadPriority).int64(s.storePathCount).int64(s.subdirCountPerPath).int64(s.currentWritePath);
    w.int64(s.storagePort);
  } else {
    w.fixed(s.id, STORAGE_ID_SIZE)
      .fixed(s.ip, IP_ADDRESS_SIZE)
      .fixed(s.domainName, 128)
      .fixed(s.srcId, STORAGE_ID_SIZE);
    w.fixed(s.version, 6).int64(s.joinTime).int64(s.upTime).int64(s.totalMb).int64(s.freeMb);
    w.int64(s.uploadPriority).int64(s.storePathCount).int64(s.subdirCountPerPath).int64(s.currentWritePath);
    w.int64(s.storagePort).int64(s.storageHttpPort);
  }
  writeCounters(w, s.counters);
  return w.uint8(s.ifTrunkServer ? 1 : 0).buf;
}

/** The V6.13+ record with a 46-byte IP field: what a tracker with IPv6 storages sends. */
export const STORAGE_STAT_SIZE_IP6 = 517;

export function decodeStorageStats(body: Buffer, layout: StatLayoutName): StorageStat[] {
  // Groups hold at most 32 storages, so a body cannot be a multiple of both 487 and 517.
  const ip6 =
    layout === 'current' &&
    body.length % STORAGE_STAT_SIZE.current !== 0 &&
    body.length % STORAGE_STAT_SIZE_IP6 === 0;
  const size = ip6 ? STORAGE_STAT_SIZE_IP6 : STORAGE_STAT_SIZE[layout];
  const ipSize = ip6 ? 46 : IP_ADDRESS_SIZE;
  if (body.length % size !== 0)
    throw new FdfsError(Status.EINVAL, `storage stat body ${body.length} is not a multiple of ${size}`);
  const r = new BodyReader(body, 'storage stat');
  const out: StorageStat[] = [];
  for (let i = 0; i < body.length / size; i++) {
    const s = { status: r.uint8() } as StorageStat;
    if (layout === 'current') {
      s.rwMode = r.uint8();
      s.id = r.fixed(STORAGE_ID_SIZE);
      s.ip = r.fixed(ipSize);
      s.domainName = '';
      s.srcId = r.fixed(STORAGE_ID_SIZE);
      s.version = r.fixed(8);
      s.joinTime = r.int64();
      s.upTime = r.int64();
      s.totalMb = r.int64();
      s.freeMb = r.int64();
      s.reservedMb = r.int64();
      s.storageHttpPort = 0;
    } else {
      s.rwMode = 6;
      s.id = r.fixed(STORAGE_ID_SIZE);
      s.ip = r.fixed(IP_ADDRESS_SIZE);
      s.domainName = r.fixed(128);
      s.srcId = r.fixed(STORAGE_ID_SIZE);
      s.version = r.fixed(6);
      s.joinTime = r.int64();
      s.upTime = r.int64();
      s.totalMb = r.int64();
      s.freeMb = r.int64();
      s.reservedMb = 0;
    }
    s.uploadPriority = r.int64();
    s.storePathCount = r.int64();
    s.subdirCountPerPath = r.int64();
    s.currentWritePath = r.int64();
    s.storagePort = r.int64();
    if (layout === 'classic') s.storageHttpPort = r.int64();
    s.counters = readCounters(r);
    s.ifTrunkServer = r.uint8() === 1;
    out.push(s);
  }
  return out;
}
