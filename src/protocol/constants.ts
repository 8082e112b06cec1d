/** Command codes, with FastDFS' own names so they can be found in its sources. */
export const Cmd = {
  // tracker, client-facing
  SERVER_LIST_ONE_GROUP: 90,
  SERVER_LIST_ALL_GROUPS: 91,
  SERVER_LIST_STORAGE: 92,
  SERVER_DELETE_STORAGE: 93,
  QUERY_STORE_WITHOUT_GROUP_ONE: 101,
  QUERY_FETCH_ONE: 102,
  QUERY_UPDATE: 103,
  QUERY_STORE_WITH_GROUP_ONE: 104,
  QUERY_FETCH_ALL: 105,
  QUERY_STORE_WITHOUT_GROUP_ALL: 106,
  QUERY_STORE_WITH_GROUP_ALL: 107,
  SERVER_DELETE_GROUP: 108,
  /**
   * fastdfs-ts extension, not in FastDFS (its trackers answer EINVAL to it): the per-source sync
   * matrix of a group (sync-status.ts). FastDFS keeps that matrix but shows only a per-storage
   * summary, so fdfs_monitor cannot say which peer a storage is behind.
   */
  TRACKER_SYNC_STATUS: 121,
  // storage → tracker
  STORAGE_PARAMETER_REQ: 75,
  STORAGE_FETCH_STORAGE_IDS: 69,
  STORAGE_JOIN: 81,
  STORAGE_BEAT: 83,
  STORAGE_REPORT_DISK_USAGE: 84,
  STORAGE_SYNC_REPORT: 89,
  STORAGE_GET_SERVER_ID: 70,
  STORAGE_REPORT_STATUS: 76,
  STORAGE_SYNC_SRC_REQ: 86,
  STORAGE_SYNC_DEST_REQ: 87,
  STORAGE_SYNC_NOTIFY: 88,
  STORAGE_SYNC_DEST_QUERY: 79,
  STORAGE_REPLICA_CHG: 85,
  STORAGE_CHANGE_STATUS: 59,
  STORAGE_GET_MY_IP: 60,
  STORAGE_GET_STATUS: 71,
  STORAGE_GET_GROUP_NAME: 109,
  STORAGE_CHANGELOG_REQ: 77,
  // tracker → tracker: leader election and the leader's data files (tracker_relationship.c)
  TRACKER_JOIN_LEADER: 58,
  TRACKER_GET_SYS_FILES_START: 61,
  TRACKER_GET_SYS_FILES_END: 62,
  TRACKER_GET_ONE_SYS_FILE: 63,
  TRACKER_GET_STATUS: 64,
  TRACKER_PING_LEADER: 65,
  TRACKER_NOTIFY_NEXT_LEADER: 66,
  TRACKER_COMMIT_NEXT_LEADER: 67,
  TRACKER_NOTIFY_RESELECT_LEADER: 68,
  SERVER_GET_LEADER: 95,
  // storage, client-facing
  REPORT_SERVER_ID: 9,
  UPLOAD_FILE: 11,
  DELETE_FILE: 12,
  SET_METADATA: 13,
  DOWNLOAD_FILE: 14,
  GET_METADATA: 15,
  SYNC_CREATE_FILE: 16,
  SYNC_DELETE_FILE: 17,
  SYNC_UPDATE_FILE: 18,
  SYNC_CREATE_LINK: 19,
  UPLOAD_SLAVE_FILE: 21,
  QUERY_FILE_INFO: 22,
  UPLOAD_APPENDER_FILE: 23,
  APPEND_FILE: 24,
  SYNC_APPEND_FILE: 25,
  MODIFY_FILE: 34,
  SYNC_MODIFY_FILE: 35,
  TRUNCATE_FILE: 36,
  SYNC_TRUNCATE_FILE: 37,
  REGENERATE_APPENDER_FILENAME: 38,
  SYNC_RENAME_FILE: 40,
  /**
   * fastdfs-ts extension, not in FastDFS: a source tells a peer "you hold every file I created
   * before this timestamp", so the peer's sync report (89) advances while the source is idle.
   * FastDFS only learns that from the next file, or after storage_sync_file_max_time (300 s).
   */
  SYNC_WATERMARK: 120,
  // trunk files: storage → trunk server, trunk server → storage, tracker → storage
  TRUNK_ALLOC_SPACE: 27,
  TRUNK_ALLOC_CONFIRM: 28,
  TRUNK_FREE_SPACE: 29,
  TRUNK_SYNC_BINLOG: 30,
  TRUNK_GET_BINLOG_SIZE: 31,
  TRUNK_DELETE_BINLOG_MARKS: 32,
  TRUNK_TRUNCATE_BINLOG_FILE: 33,
  // trunk files: storage → tracker
  STORAGE_FETCH_TRUNK_FID: 72,
  STORAGE_REPORT_TRUNK_FID: 73,
  STORAGE_REPORT_TRUNK_FREE: 74,
  // both
  QUIT: 82,
  RESP: 100,
  ACTIVE_TEST: 111,
} as const;

const cmdNames = new Map<number, string>(Object.entries(Cmd).map(([k, v]) => [v, k]));
export function cmdName(cmd: number): string {
  return cmdNames.get(cmd) ?? `CMD_${cmd}`;
}

/** Storage status as the tracker tracks it (fact sheet §3.5; "order is important"). */
export const StorageStatus = {
  INIT: 0,
  WAIT_SYNC: 1,
  SYNCING: 2,
  IP_CHANGED: 3,
  DELETED: 4,
  OFFLINE: 5,
  ONLINE: 6,
  ACTIVE: 7,
  RECOVERY: 9,
  NONE: 99,
} as const;
export type StorageStatusCode = (typeof StorageStatus)[keyof typeof StorageStatus];
const statusNames = new Map<number, string>(Object.entries(StorageStatus).map(([k, v]) => [v, k]));
export function storageStatusName(s: number): string {
  return statusNames.get(s) ?? `STATUS_${s}`;
}

export const HEADER_SIZE = 10;
export const GROUP_NAME_LEN = 16;
/** IPv4 profile: query replies carry 15 IP bytes, file-info and stat records 16. */
export const IP_ADDRESS_SIZE = 16;
export const STORAGE_ID_SIZE = 16;
export const VERSION_SIZE = 8;
export const FILE_EXT_NAME_MAX_LEN = 6;
export const FILE_PREFIX_MAX_LEN = 16;
export const REMOTE_FILENAME_MAX_LEN = 127;
export const MAX_META_NAME_LEN = 64;
export const MAX_META_VALUE_LEN = 256;
export const RECORD_SEPARATOR = 0x01;
export const FIELD_SEPARATOR = 0x02;
export const STORE_PATH_AUTO = 0xff;
export const METADATA_OVERWRITE = 0x4f; // 'O'
export const METADATA_MERGE = 0x4d; // 'M'
/** Control bodies (everything but file content) above this are refused before allocation. */
export const MAX_CONTROL_BODY = 256 * 1024;
export const PROTOCOL_VERSION = '6.16';
