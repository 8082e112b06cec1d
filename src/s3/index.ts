export type { S3Context, S3Deps } from './context.js';
export { formatCredential, generateCredential, parseCredential } from './credentials.js';
export { errorXml, S3_STATUS, type S3Code, s3Error, s3FailureOf } from './errors.js';
export { collectOrphans, drainGarbageOnce, type GcReport, type OrphanReport, type OrphanScan } from './gc.js';
export {
  type ImportFiles,
  type ImportOptions,
  type ImportProgress,
  type ImportReport,
  importGroup,
  type Outcome as ImportOutcome,
} from './import.js';
export type { ImportLine, ImportPosition } from './import-plan.js';
export { type S3Handle, type S3Listen, startS3 } from './server.js';
