export { BASE64_PART_LEN, decodeBase64Part, encodeBase64Part } from './base64.js';
export { decodeRemoteFilename, decodeSource, NORMAL_NAME_LEN, sizeHintOf, TRUNK_NAME_LEN } from './decode.js';
export {
  EXT_MAX_LEN,
  encodeRemoteFilename,
  FORMATTED_EXT_LEN,
  formatExt,
  MAX_SERVER_ID,
  regenerateName,
  validateExt,
} from './encode.js';
export {
  PREFIX_MAX_LEN,
  recordedSlaves,
  SLAVE_RECORD_PREFIX,
  slaveRecordName,
  slaveRemoteFilename,
} from './slave.js';
export { pjwHash, randomSubdirs } from './subdir.js';
export type {
  DecodedName,
  EncodeNameInput,
  FileId,
  FileType,
  NameKind,
  RegenerateInput,
  SourceId,
  TrunkInfo,
} from './types.js';
export {
  formatFileId,
  GROUP_NAME_MAX_LEN,
  isMetaSidecarName,
  isValidGroupName,
  parseFileId,
  REMOTE_FILENAME_MAX_LEN,
  REMOTE_FILENAME_MIN_LEN,
  type RemoteParts,
  relativeDataPath,
  splitRemoteFilename,
  storePathIndexOf,
  validateGroupName,
  validateRemoteFilename,
} from './validate.js';
