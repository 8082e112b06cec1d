/** `fdfs delete` (and `fdfs_delete_file`). */
import { emit, expectPositionals, type Verb, withClient } from './verb.js';

export const deleteVerb: Verb = {
  name: 'delete',
  synopsis: '<conf> <file_id>',
  summary: 'delete a file (fdfs_delete_file)',
  help: `fdfs delete <client.conf> <file_id> [options]
  Deletes a file (and its metadata) on the storage that holds it, as fdfs_delete_file does.
  Prints nothing on success; a missing file exits with 2 (ENOENT).
Example:
  fdfs delete /etc/fdfs/client.conf group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png`,
  options: {},
  subject: (p) => p[1],
  async run(ctx) {
    expectPositionals(ctx, ['conf', 'file_id']);
    const fileId = ctx.positionals[1] ?? '';
    await withClient(ctx, (client) => client.delete(fileId));
    emit(ctx, '', { fileId, deleted: true });
  },
};
