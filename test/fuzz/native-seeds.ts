/**
 * Well-formed packets for every tracker and storage command, the fuzzer's starting points. Reads
 * name the canary (a file that must stay intact); writes name the victim (an appender the batch
 * may change or delete) or names that do not exist; joins use groups of their own, so the
 * fuzzer probes every command without steering the node's real clients elsewhere.
 */
import {
  Cmd,
  encodeAppendPrefix,
  encodeDiskUsage,
  encodeDownload,
  encodeGroupAndName,
  encodeJoin,
  encodeServerId,
  encodeSetMetadata,
  encodeSlavePrefix,
  encodeStatusReport,
  encodeSyncDelete,
  encodeSyncFile,
  encodeSyncPair,
  encodeSyncRange,
  encodeSyncReport,
  encodeSyncSource,
  encodeSyncSrcQuery,
  encodeSyncStatusQuery,
  encodeTruncate,
  encodeUploadPrefix,
  encodeWatermark,
  fixedString,
  GROUP_NAME_LEN,
} from '../../src/protocol/index.js';
import type { Rng } from '../harness/rng.js';

export interface Packet {
  readonly cmd: number;
  readonly body: Buffer;
  /** Names the canary: a mutated cmd must not turn it into a write (12 has 15's and 22's layout). */
  readonly readsCanary?: boolean;
}

export interface SeedContext {
  readonly group: string;
  /** Remote filenames (no group). */
  readonly canary: string;
  readonly victim: string;
}

export type Target = 'tracker' | 'storage';

const EXTS = ['', 'jpg', 'txt', 'bin', 'tar.gz', 'a/b', '../..', 'xxxxxxx'];

/** A name shaped like a stored one that no file has (or a mutation of a real one). */
function fakeName(rng: Rng, ctx: SeedContext): string {
  const real = rng.pick([ctx.canary, ctx.victim]);
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const base = [...real.slice(10, 37)].map((c) => (rng.chance(0.2) ? rng.pick([...chars]) : c)).join('');
  return `${real.slice(0, 10)}${base}${real.slice(37)}`.replace(ctx.canary, ctx.victim);
}

function content(rng: Rng): Buffer {
  return rng.bytes(rng.pick([0, 1, 17, 100, 1000, 5000]));
}

function ts(rng: Rng): number {
  return rng.pick([0, 1, Math.floor(Date.now() / 1000), 2 ** 31 - 1]);
}

export function storageSeed(rng: Rng, ctx: SeedContext): Packet {
  const g = ctx.group;
  const name = rng.chance(0.5) ? ctx.victim : fakeName(rng, ctx);
  const c = content(rng);
  switch (rng.int(0, 23)) {
    case 0:
    case 1: {
      const ext = rng.pick(EXTS);
      return {
        cmd: Cmd.UPLOAD_FILE,
        body: Buffer.concat([encodeUploadPrefix({ storePathIndex: 0xff, size: c.length, ext }), c]),
      };
    }
    case 2:
      return {
        cmd: Cmd.UPLOAD_APPENDER_FILE,
        body: Buffer.concat([
          encodeUploadPrefix({ storePathIndex: rng.pick([0, 1, 0xff]), size: c.length, ext: 'log' }),
          c,
        ]),
      };
    case 3:
      return {
        cmd: Cmd.UPLOAD_SLAVE_FILE,
        body: Buffer.concat([
          encodeSlavePrefix({
            master: name,
            size: c.length,
            prefix: rng.pick(['_s', '_150x150', '', '/..']),
            ext: 'jpg',
          }),
          c,
        ]),
      };
    case 4:
      return {
        cmd: Cmd.DELETE_FILE,
        body: encodeGroupAndName(g, rng.chance(0.3) ? ctx.victim : fakeName(rng, ctx)),
      };
    case 5: {
      const meta = Buffer.from(rng.pick(['a\u0002b', 'w\u000210\u0001h\u000220', '', '\u0002\u0001\u0002']));
      return {
        cmd: Cmd.SET_METADATA,
        body: encodeSetMetadata({ group: g, remote: name, flag: rng.pick([0x4f, 0x4d, 0]), meta }),
      };
    }
    case 6:
    case 7:
      return {
        readsCanary: true,
        cmd: Cmd.DOWNLOAD_FILE,
        body: encodeDownload({
          offset: rng.pick([0, 1, 10, 4096]),
          length: rng.pick([0, 1, 100, 2 ** 31]),
          group: g,
          remote: rng.chance(0.7) ? ctx.canary : name,
        }),
      };
    case 8:
      return {
        readsCanary: true,
        cmd: Cmd.GET_METADATA,
        body: encodeGroupAndName(g, rng.chance(0.5) ? ctx.canary : name),
      };
    case 9:
      return {
        readsCanary: true,
        cmd: Cmd.QUERY_FILE_INFO,
        body: encodeGroupAndName(g, rng.chance(0.5) ? ctx.canary : name),
      };
    case 10:
      return { cmd: Cmd.APPEND_FILE, body: Buffer.concat([encodeAppendPrefix(ctx.victim, c.length), c]) };
    case 11:
      return {
        cmd: Cmd.MODIFY_FILE,
        body: Buffer.concat([encodeAppendPrefix(ctx.victim, c.length, rng.pick([0, 5, 100000])), c]),
      };
    case 12:
      return { cmd: Cmd.TRUNCATE_FILE, body: encodeTruncate(ctx.victim, rng.pick([0, 3, 1 << 20])) };
    case 13:
      return { cmd: Cmd.REGENERATE_APPENDER_FILENAME, body: Buffer.from(ctx.victim) };
    case 14:
      return {
        cmd: Cmd.REPORT_SERVER_ID,
        body: encodeServerId(rng.pick(['127.0.0.9', '100001', '', 'x'.repeat(20)])),
      };
    case 15:
    case 16:
      return {
        cmd: rng.pick([Cmd.SYNC_CREATE_FILE, Cmd.SYNC_UPDATE_FILE]),
        body: Buffer.concat([encodeSyncFile(g, fakeName(rng, ctx), c.length, ts(rng)), c]),
      };
    case 17:
      return { cmd: Cmd.SYNC_DELETE_FILE, body: encodeSyncDelete(g, fakeName(rng, ctx), ts(rng)) };
    case 18:
      return {
        cmd: rng.pick([Cmd.SYNC_APPEND_FILE, Cmd.SYNC_MODIFY_FILE]),
        body: Buffer.concat([encodeSyncRange(g, fakeName(rng, ctx), rng.pick([0, 7]), c.length, ts(rng)), c]),
      };
    case 19:
      return { cmd: Cmd.SYNC_TRUNCATE_FILE, body: encodeSyncRange(g, fakeName(rng, ctx), 10, 0, ts(rng)) };
    case 20:
      return {
        cmd: rng.pick([Cmd.SYNC_RENAME_FILE, Cmd.SYNC_CREATE_LINK]),
        body: encodeSyncPair(g, fakeName(rng, ctx), fakeName(rng, ctx), ts(rng)),
      };
    case 21:
      return { cmd: Cmd.SYNC_WATERMARK, body: encodeWatermark(ts(rng)) };
    case 22:
      return { cmd: rng.pick([Cmd.ACTIVE_TEST, Cmd.QUIT]), body: Buffer.alloc(0) };
    default:
      return { cmd: rng.int(0, 255), body: rng.bytes(rng.int(0, 64)) };
  }
}

export function trackerSeed(rng: Rng, ctx: SeedContext): Packet {
  const fzGroup = `fz${rng.int(0, 7)}`;
  const g = rng.chance(0.5) ? ctx.group : fzGroup;
  const ip = `127.0.${rng.int(1, 3)}.${rng.int(1, 250)}`;
  switch (rng.int(0, 20)) {
    case 0:
      return {
        cmd: Cmd.STORAGE_JOIN,
        body: encodeJoin({
          group: fzGroup,
          storagePort: rng.int(1, 65535),
          storePathCount: rng.pick([0, 1, 2, 256]),
          subdirCountPerPath: rng.pick([0, 1, 256]),
          uploadPriority: 10,
          joinTime: ts(rng),
          upTime: ts(rng),
          version: '6.16',
          initFlag: rng.int(0, 1),
          status: rng.int(0, 9),
          storageId: rng.pick(['', ip, '100001']),
          currentTrackerIp: '127.0.0.1',
          trackers: rng.chance(0.5) ? ['127.0.0.1:22122'] : [],
        }),
      };
    case 1:
      return {
        cmd: Cmd.STORAGE_BEAT,
        body: rng.chance(0.5) ? Buffer.alloc(0) : rng.bytes(rng.pick([8, 104, 200])),
      };
    case 2:
      return { cmd: Cmd.STORAGE_REPORT_DISK_USAGE, body: encodeDiskUsage([{ totalMb: 100, freeMb: 50 }]) };
    case 3:
      return { cmd: Cmd.STORAGE_SYNC_REPORT, body: encodeSyncReport([{ id: ip, timestamp: ts(rng) }]) };
    case 4:
      return { cmd: Cmd.SERVER_LIST_ONE_GROUP, body: fixedString(g, GROUP_NAME_LEN) };
    case 5:
      return { cmd: Cmd.SERVER_LIST_ALL_GROUPS, body: Buffer.alloc(0) };
    case 6:
      return {
        cmd: Cmd.SERVER_LIST_STORAGE,
        body: Buffer.concat([
          fixedString(g, GROUP_NAME_LEN),
          rng.chance(0.5) ? fixedString(ip, 16) : Buffer.alloc(0),
        ]),
      };
    case 7:
      // Only the fuzzer's own groups and made-up storages: deleting the real one is not the point.
      return {
        cmd: Cmd.SERVER_DELETE_STORAGE,
        body: Buffer.concat([fixedString(fzGroup, GROUP_NAME_LEN), fixedString(ip, 16)]),
      };
    case 8:
      return { cmd: Cmd.SERVER_DELETE_GROUP, body: fixedString(fzGroup, GROUP_NAME_LEN) };
    case 9:
      return {
        cmd: rng.pick([Cmd.QUERY_STORE_WITHOUT_GROUP_ONE, Cmd.QUERY_STORE_WITHOUT_GROUP_ALL]),
        body: Buffer.alloc(0),
      };
    case 10:
      return {
        cmd: rng.pick([Cmd.QUERY_STORE_WITH_GROUP_ONE, Cmd.QUERY_STORE_WITH_GROUP_ALL]),
        body: fixedString(g, GROUP_NAME_LEN),
      };
    case 11:
      return {
        cmd: rng.pick([Cmd.QUERY_FETCH_ONE, Cmd.QUERY_UPDATE, Cmd.QUERY_FETCH_ALL]),
        body: encodeGroupAndName(g, rng.chance(0.5) ? ctx.canary : ctx.victim),
      };
    case 12:
      return { cmd: Cmd.TRACKER_SYNC_STATUS, body: encodeSyncStatusQuery(g) };
    case 13:
      return {
        cmd: rng.pick([Cmd.STORAGE_PARAMETER_REQ, Cmd.STORAGE_FETCH_STORAGE_IDS]),
        body: rng.chance(0.7) ? Buffer.alloc(0) : rng.bytes(4),
      };
    case 14:
      return {
        cmd: Cmd.STORAGE_GET_SERVER_ID,
        body: Buffer.concat([fixedString(g, GROUP_NAME_LEN), fixedString(ip, 16)]),
      };
    case 15:
      return {
        cmd: Cmd.STORAGE_REPORT_STATUS,
        body: encodeStatusReport({
          group: fzGroup,
          status: rng.int(0, 9),
          port: rng.int(1, 65535),
          id: ip,
          ip,
        }),
      };
    case 16:
      return { cmd: Cmd.STORAGE_SYNC_SRC_REQ, body: encodeSyncSrcQuery(fzGroup, ip) };
    case 17:
      return { cmd: Cmd.STORAGE_SYNC_DEST_REQ, body: Buffer.alloc(0) };
    case 18:
      return {
        cmd: Cmd.STORAGE_SYNC_NOTIFY,
        body: encodeSyncSource(rng.chance(0.5) ? { srcId: ip, until: ts(rng) } : undefined),
      };
    case 19:
      return { cmd: rng.pick([Cmd.ACTIVE_TEST, Cmd.QUIT]), body: Buffer.alloc(0) };
    default:
      return { cmd: rng.int(0, 255), body: rng.bytes(rng.int(0, 64)) };
  }
}
