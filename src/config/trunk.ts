/**
 * Trunk-file keys of tracker.conf (FastDFS: small files packed into big trunk files). The
 * tracker reads them from its conf; storages get them from the tracker (cmd 75, as FastDFS'
 * storages do) and read the reply with the same function, so both apply the same limits.
 */
import { FdfsError, Status } from '../common/index.js';
import { parseConfText, type RawConf } from './conf-file.js';
import { ConfReader } from './reader.js';
import type { TrunkConfig } from './types.js';

const MB = 1024 * 1024;
const MAX_INT32 = 0x7fff_ffff;
const TIME_RE = /^(\d{1,2}):(\d{1,2})$/;

function timeBase(r: ConfReader, key: string, fallback: string): string {
  return r.get(key, fallback, 'a time of day HH:MM', (t) => {
    const m = TIME_RE.exec(t.trim());
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return undefined;
    return `${m[1]?.padStart(2, '0')}:${m[2]?.padStart(2, '0')}`;
  }).value;
}

/**
 * The trunk keys with FastDFS' defaults and its corrections (tracker_func.c): trunk_file_size at
 * least 4 MB; slot_min_size at most 64 KB and at least trunk_alloc_alignment_size; slot_max_size
 * defaults to trunk_file_size / 8, must exceed slot_min_size and is cut to trunk_file_size / 2.
 */
export function trunkConfigOf(r: ConfReader): TrunkConfig {
  const useTrunkFile = r.bool('use_trunk_file', false);
  const alignment = r.size('trunk_alloc_alignment_size', 0, 0, 64 * 1024);
  let slotMinSize = Math.min(r.size('slot_min_size', 256, 1, MAX_INT32), 64 * 1024);
  slotMinSize = Math.max(slotMinSize, alignment);
  const trunkFileSize = Math.max(r.size('trunk_file_size', 64 * MB, 1, MAX_INT32), 4 * MB);
  let slotMaxSize = r.size('slot_max_size', Math.floor(trunkFileSize / 8), 1, MAX_INT32);
  if (slotMaxSize <= slotMinSize) {
    throw new FdfsError(
      Status.EINVAL,
      `${r.source}: slot_max_size = ${slotMaxSize}: must be larger than slot_min_size (${slotMinSize})`,
    );
  }
  slotMaxSize = Math.min(slotMaxSize, Math.floor(trunkFileSize / 2));
  return Object.freeze({
    useTrunkFile,
    slotMinSize,
    slotMaxSize,
    trunkAllocAlignmentSize: alignment,
    trunkFileSize,
    trunkCreateFileAdvance: r.bool('trunk_create_file_advance', false),
    trunkCreateFileTimeBase: timeBase(r, 'trunk_create_file_time_base', '02:00'),
    trunkCreateFileInterval: r.duration('trunk_create_file_interval', 86_400_000, 's', 1000),
    trunkCreateFileSpaceThreshold: r.size('trunk_create_file_space_threshold', 0, 0, Number.MAX_SAFE_INTEGER),
    trunkInitCheckOccupying: r.bool('trunk_init_check_occupying', false),
    trunkInitReloadFromBinlog: r.bool('trunk_init_reload_from_binlog', false),
    trunkFreeSpaceMerge: r.bool('trunk_free_space_merge', false),
    deleteUnusedTrunkFiles: r.bool('delete_unused_trunk_files', false),
    trunkCompressBinlogMinInterval: r.int('trunk_compress_binlog_min_interval', 0, 0, MAX_INT32),
    trunkCompressBinlogInterval: r.int('trunk_compress_binlog_interval', 0, 0, MAX_INT32),
    trunkCompressBinlogTimeBase: timeBase(r, 'trunk_compress_binlog_time_base', '03:00'),
    trunkBinlogMaxBackups: r.int('trunk_binlog_max_backups', 0, 0, MAX_INT32),
  });
}

/** The trunk settings of a tracker's cmd 75 reply (`key=value` lines). */
export function trunkConfigFromParameters(text: string): TrunkConfig {
  const raw: RawConf = parseConfText(text, 'tracker parameters');
  return trunkConfigOf(new ConfReader(raw, 'tracker', 'tracker parameters'));
}

/** FastDFS' defaults: trunk files off. */
export function defaultTrunkConfig(): TrunkConfig {
  return trunkConfigFromParameters('');
}
