/** `fdfs info` (and `fdfs_file_info`): what a file id tells, decoded locally or asked of the storage. */
import type { FileInfo } from '../client/index.js';
import { decodeRemoteFilename, parseFileId, type SourceId } from '../fileid/index.js';
import { formatDatetime } from './output.js';
import { emit, expectPositionals, usageError, type Verb, withClient } from './verb.js';

export const infoVerb: Verb = {
  name: 'info',
  synopsis: '<conf> <file_id>',
  summary: 'source ip, create time, size, crc32 of a file (fdfs_file_info)',
  help: `fdfs info <client.conf> <file_id> [options]
  Prints what fdfs_file_info prints: file type, source storage id and ip, create timestamp (local
  time), size and crc32. Normal files are decoded from the file id alone, without any server;
  appender and slave files (whose id does not carry the size) are asked of the storage.
  --server            always ask the storage (QUERY_FILE_INFO): on-disk size and mtime, and
                      ENOENT (exit 2) when the file is gone
  --local             never contact a server; unknown fields print as -1
  -n, --no-crc        do not print a crc32 of 0 (as fdfs_file_info -n)
  -s, --silent        accepted for fdfs_file_info compatibility (-s)
Examples:
  fdfs info /etc/fdfs/client.conf group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png
  fdfs info /etc/fdfs/client.conf group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png --server --json`,
  options: {
    server: { type: 'boolean' },
    local: { type: 'boolean' },
    'no-crc': { type: 'boolean', short: 'n' },
    silent: { type: 'boolean', short: 's' },
  },
  subject: (p) => p[1],
  async run(ctx) {
    expectPositionals(ctx, ['conf', 'file_id']);
    const fileId = ctx.positionals[1] ?? '';
    if (ctx.values.server && ctx.values.local) throw usageError('--server and --local exclude each other');
    const d = decodeRemoteFilename(parseFileId(fileId).remoteFilename);
    const fromServer = ctx.values.server === true || (ctx.values.local !== true && d.size < 0);
    const info: FileInfo = fromServer
      ? await withClient(ctx, (client) => client.fileInfo(fileId, { fromServer: true }))
      : { source: d.source, timestamp: d.timestamp, size: d.size, crc32: d.crc32, type: d.type };
    const { id, ip } = sourceFields(info.source);
    const crcSigned = info.crc32 | 0;
    const crcHex = `0x${(info.crc32 >>> 0).toString(16).padStart(8, '0')}`;
    const lines = [
      `GET FROM SERVER: ${fromServer}`,
      '',
      `file type: ${info.type === 'trunk' ? 'normal' : info.type}`,
      `source storage id: ${id}`,
      `source ip address: ${ip}`,
      `file create timestamp: ${formatDatetime(info.timestamp)}`,
      `file size: ${info.size}`,
    ];
    if (!(ctx.values['no-crc'] && info.crc32 === 0)) lines.push(`file crc32: ${crcSigned} (${crcHex})`);
    emit(ctx, `${lines.join('\n')}\n\n`, {
      fileId,
      fromServer,
      type: info.type,
      sourceId: id,
      sourceIp: ip,
      timestamp: info.timestamp,
      created: new Date(info.timestamp * 1000).toISOString(),
      size: info.size,
      crc32: info.crc32 >>> 0,
      crc32Hex: crcHex,
    });
  },
};

/** fdfs_file_info prints id 0 for an IP source, and an empty ip for an id it cannot resolve. */
function sourceFields(source: SourceId): { id: number; ip: string } {
  return source.kind === 'ip' ? { id: 0, ip: source.ip } : { id: source.id, ip: '' };
}
