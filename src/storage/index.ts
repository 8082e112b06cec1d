export { Binlog, BinlogOp } from './binlog.js';
export { writeFileAtomic } from './durable.js';
export { StorageEngine } from './engine.js';
export { type StorageNode, startStorage } from './start.js';
