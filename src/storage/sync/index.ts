export { type ApplyResult, syncTarget } from './apply.js';
export { BinlogReader } from './binlog-reader.js';
export { INIT_FLAG_FILE, InitFlag, type InitFlagState } from './init-flag.js';
export { type JoinFields, type PeerSyncStatus, SyncManager, type SyncManagerDeps } from './manager.js';
export { decodeMark, encodeMark, freshMark, MarkFile, markFileName, type SyncMark } from './mark.js';
export { type PeerInfo, PeerViews } from './peers.js';
export { WATERMARK_MARGIN_S } from './pusher.js';
export { SyncReceiver } from './receiver.js';
export { type BinlogRecord, formatRecord, isSourceRecord, parseRecord } from './record.js';
