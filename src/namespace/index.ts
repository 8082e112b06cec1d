export { MAX_KEY_BYTES } from './lmdb-keys.js';
export { openLmdbNamespace } from './lmdb-namespace.js';
export {
  DEFAULT_PG_SCHEMA,
  isPostgresUrl,
  openPgNamespace,
  PG_SCHEMA_VERSION,
  type PgNamespaceOptions,
} from './postgres/index.js';
export type {
  BucketRecord,
  CompletedUpload,
  GarbageEntry,
  ListPage,
  ListQuery,
  LmdbNamespaceOptions,
  Namespace,
  ObjectPart,
  ObjectRecord,
  PartRecord,
  UploadIntent,
  UploadListQuery,
  UploadPage,
  UploadRecord,
  WriteCondition,
} from './types.js';
