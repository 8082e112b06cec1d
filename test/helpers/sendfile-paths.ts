/**
 * The two ways a large body can leave a node, for describe.each: sendfile through the native
 * addon (when `npm run build` could compile it here) and the plain read-and-write path.
 */
export const SENDFILE_PATHS = [
  { path: 'default (sendfile when built)', env: {} },
  { path: 'read and write (FDFS_SENDFILE=0)', env: { FDFS_SENDFILE: '0' } },
] as const;
