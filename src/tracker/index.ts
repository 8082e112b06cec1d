export { changeLogFor, groupBriefs } from './change-log.js';
export {
  Cluster,
  type ClusterOptions,
  type JoinInput,
  type JoinResult,
  MAX_GROUPS,
  MAX_SERVERS_EACH_GROUP,
  MAX_STORE_PATHS,
  MAX_SUBDIR_COUNT,
} from './cluster.js';
export {
  type FetchPolicy,
  type FileFacts,
  isSourceOf,
  mayHaveFile,
  selectFetchAll,
  selectFetchOne,
  selectUpdate,
} from './fetch-policy.js';
export { type GroupSpace, StorageGroup } from './group.js';
export { callOnce, PeerLink, type PeerLinkOptions } from './peer-link.js';
export {
  compareTrackers,
  parseTrackerLine,
  Relationship,
  type RelationshipDeps,
  type TrackerAddr,
  type TrackerChannel,
} from './relationship.js';
export { startTracker, TRACKER_MAX_BODY, type TrackerDeps, type TrackerHandle } from './server.js';
export {
  type ClusterSnapshot,
  type GroupSnapshot,
  isClusterSnapshot,
  restoreCluster,
  type StorageSnapshot,
  snapshotCluster,
} from './snapshot.js';
export { formatReserved, groupHasSpace, pathHasSpace, reservedMb } from './space.js';
export {
  decodeState,
  encodeState,
  loadState,
  STATE_FILE_NAME,
  StatePersister,
  stateFilePath,
} from './state-store.js';
export { groupStat, parameterText, storageStat } from './stats.js';
export { type PathUsage, StorageNode } from './storage-node.js';
export {
  mostFreePath,
  preferredStoreServer,
  type StoreChoice,
  type StorePolicy,
  selectStore,
  selectStoreGroup,
  selectStorePath,
  selectStoreServer,
} from './store-policy.js';
export {
  recordSyncReport,
  reportStatus,
  settleJoin,
  syncDestReq,
  syncMatrix,
  syncNotify,
  syncSourceCandidates,
  syncSrcQuery,
} from './sync-state.js';
