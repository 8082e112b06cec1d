export { Binlog, BinlogOp } from './binlog.js';
export type { StorageCounters } from './counters.js';
export { StorageEngine } from './engine.js';
export { type StorageNode, startStorage } from './start.js';
export { BinlogReader } from './sync/index.js';
export { TRUNK_HEADER_SIZE, type Trunks } from './trunk/index.js';
