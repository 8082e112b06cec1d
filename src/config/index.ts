export {
  type AllowRule,
  allowHostsFilter,
  allowHostsMatch,
  parseAllowHostsValue,
  plainAddress,
  resolveAllowHosts,
} from './allow-hosts.js';
export { clientConfigFrom, defaultClientConfig, loadClientConfig } from './client.js';
export {
  applyOverrides,
  COMMAND_LINE,
  type ConfEntry,
  parseConfText,
  type RawConf,
  readConfFile,
  where,
} from './conf-file.js';
export { defaultHttpConfig, HTTP_DEFAULT_PORT, httpConfigFrom, loadHttpConfig } from './http.js';
export { IMAGE_MAX_SIDE } from './http-image.js';
export {
  type ConfRole,
  isKnownKey,
  keysOf,
  knownUnusedKeysOf,
  MAX_STORE_PATHS,
  overridesFor,
} from './keys.js';
export type { BuildOptions, Loaded, Overrides } from './shared.js';
export {
  defaultStorageConfig,
  loadStorageConfig,
  STORAGE_DEFAULT_PORT,
  storageConfigFrom,
} from './storage.js';
export { loadStorageIds, parseStorageIds, type StorageIdEntry, StorageIdList } from './storage-ids.js';
export { defaultTrackerConfig, loadTrackerConfig, trackerConfigFrom } from './tracker.js';
export { defaultTrunkConfig, trunkConfigFromParameters, trunkConfigOf } from './trunk.js';
export type * from './types.js';
export {
  DEFAULT_TRACKER_PORT,
  isValidGroupName,
  parseBoolean,
  parseDuration,
  parseHostPort,
  parseInteger,
  parsePercent,
  parseReservedSpace,
  parseSize,
} from './values.js';
