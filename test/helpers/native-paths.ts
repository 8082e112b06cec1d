/**
 * The two ways a node can do its disk and socket work, for describe.each: through the native addon
 * (when `npm run build` could compile it here: sendfile for large bodies, one-job file creation
 * for small durable uploads) and the plain node:fs / node:net paths (FDFS_NATIVE=0).
 */
export const NATIVE_PATHS = [
  { path: 'default (native addon when built)', env: {} },
  { path: 'plain JavaScript (FDFS_NATIVE=0)', env: { FDFS_NATIVE: '0' } },
] as const;
