/** Trunk files: small files packed into big ones (FastDFS' use_trunk_file). The storage's face. */

export {
  formatTrunkRecord,
  parseTrunkLines,
  parseTrunkRecord,
  TrunkBinlog,
  TrunkOp,
  type TrunkRecord,
  trunkBinlogPath,
} from './binlog.js';
export { sendTrunkDownload, statTrunk, trunkPathOf } from './download.js';
export { TrunkFiles } from './files.js';
export { type BlockStatus, type FreeBlock, FreeSpace } from './free-space.js';
export { handlesTrunk, handleTrunk } from './handlers.js';
export { applyTrunkCreate, applyTrunkDelete } from './replica.js';
export { nextRunAt } from './schedule.js';
export { TrunkServer, type TrunkServerDeps } from './server.js';
export {
  describeSlot,
  headerMatches,
  isTrunkName,
  locate,
  packHeader,
  TRUNK_HEADER_SIZE,
  type TrunkHeader,
  type TrunkLocation,
  type TrunkSlot,
  trunkFileName,
  trunkFilePath,
  unpackHeader,
} from './slot.js';
export { loadFreeSpace, saveFreeSpace, trunkDataPath } from './state.js';
export { type FlagKeys, Trunks, type TrunksDeps } from './store.js';
export { LAST_COMPRESS_KEY, TrunkUpkeep, type UpkeepDeps } from './upkeep.js';
export { TRUNK_WHOLE_MAX, type TrunkUpload, type TrunkUploadResult, uploadToTrunk } from './upload.js';
export { type SlotWrite, TrunkWriter } from './writer.js';
