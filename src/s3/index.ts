export type { S3Context, S3Deps } from './context.js';
export { errorXml, s3Error, s3FailureOf, type S3Code, S3_STATUS } from './errors.js';
export { type S3Handle, type S3Listen, startS3 } from './server.js';
