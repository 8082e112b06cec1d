/** `fdfs upload-appender` (and `fdfs_upload_appender`): uploads a file that can be appended to later. */
import { runUpload } from './upload.js';
import type { Verb } from './verb.js';

export const uploadAppenderVerb: Verb = {
  name: 'upload-appender',
  synopsis: '<conf> <local_file>',
  summary: 'upload an appender file, print its file id (fdfs_upload_appender)',
  help: `fdfs upload-appender <client.conf> <local_file> [storage_ip:port] [store_path_index] [options]
  Uploads a local file as an appender file (fdfs_upload_appender) and prints its file id; later
  \`fdfs append\` adds to it. Same options as fdfs upload:
  --meta name=value   set metadata on the new file (repeatable)
  --group NAME        upload into this group (the tracker picks one otherwise)
  --ext EXT           extension for the file id (default: the local file's, up to 6 chars)
Example:
  id=$(fdfs upload-appender /etc/fdfs/client.conf part1.log) && fdfs append /etc/fdfs/client.conf "$id" part2.log`,
  options: {
    meta: { type: 'string', multiple: true },
    group: { type: 'string' },
    ext: { type: 'string' },
  },
  subject: (p) => p[1],
  run: (ctx) => runUpload(ctx, true),
};
