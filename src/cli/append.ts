/** `fdfs append` (and `fdfs_append_file`): adds a local file's bytes to the end of an appender file. */
import { basename } from 'node:path';
import { localSource } from './transfer.js';
import { emit, expectPositionals, type Verb, withClient } from './verb.js';

export const appendVerb: Verb = {
  name: 'append',
  synopsis: '<conf> <appender_file_id> <local_file>',
  summary: 'append a local file to an appender file (fdfs_append_file)',
  help: `fdfs append <client.conf> <appender_file_id> <local_file> [options]
  Appends the local file's bytes to an appender file (one made by fdfs upload-appender or
  fdfs upload --appender), as fdfs_append_file does. Prints nothing on success.
Example:
  fdfs append /etc/fdfs/client.conf group1/M00/00/00/wKgAZWHAQjiEAm4PAAAAAEJhBgk.log today.log`,
  options: {},
  subject: (p) => p[1],
  async run(ctx) {
    expectPositionals(ctx, ['conf', 'appender_file_id', 'local_file']);
    const [, fileId = '', path = ''] = ctx.positionals;
    const local = await localSource(ctx, path, basename(path));
    await withClient(ctx, (client) => client.append(fileId, local.source));
    emit(ctx, '', { fileId, localFile: path, appended: local.size });
  },
};
