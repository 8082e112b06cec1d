/** `fdfs download` (and `fdfs_download_file`): a file (or a range of it) to a local file or stdout. */
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeRemoteFilename, parseFileId } from '../fileid/index.js';
import { progressMeter } from './progress.js';
import { emit, expectPositionals, nonNegativeInt, usageError, type Verb, withClient } from './verb.js';

export const downloadVerb: Verb = {
  name: 'download',
  synopsis: '<conf> <file_id> [local_file|-] [offset] [length]',
  summary: 'download a file or a range; - writes to stdout (fdfs_download_file)',
  help: `fdfs download <client.conf> <file_id> [local_file] [offset] [length] [options]
  Downloads a file as fdfs_download_file does, streaming it to local_file (default: the last
  part of the file id, in the current folder) or to stdout when local_file is "-".
  offset and length pick a byte range (length 0 or absent = to the end of the file).
  A failed download removes the partly written local file.
Examples:
  fdfs download /etc/fdfs/client.conf group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png photo.png
  fdfs download /etc/fdfs/client.conf group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png - 0 1024 | xxd`,
  options: {},
  subject: (p) => p[1],
  async run(ctx) {
    expectPositionals(ctx, ['conf', 'file_id'], ['local_file', 'offset', 'length']);
    const [, fileId = '', local, offsetText, lengthText] = ctx.positionals;
    const dest = local ?? fileId.slice(fileId.lastIndexOf('/') + 1);
    const offset = offsetText === undefined ? 0 : nonNegativeInt(offsetText, 'offset');
    const length = lengthText === undefined ? 0 : nonNegativeInt(lengthText, 'length');
    const toStdout = dest === '-';
    if (toStdout && ctx.json) throw usageError('--json cannot be used when the file goes to stdout');
    const total = expectedBytes(fileId, offset, length);
    const bytes = await withClient(ctx, async (client) => {
      const body = await client.download(fileId, { offset, length });
      const meter = progressMeter(ctx.io.stderr, {
        label: dest === '-' ? fileId.slice(fileId.lastIndexOf('/') + 1) : dest,
        ...(total === undefined ? {} : { total }),
      });
      if (toStdout) await toStream(body, meter, ctx.io.stdout as Writable);
      else await toFile(body, meter, dest);
      return meter.done;
    });
    emit(ctx, '', { fileId, localFile: dest, offset, bytes });
  },
};

/** The byte count to expect, when the name tells the size (normal files); for the progress bar. */
function expectedBytes(fileId: string, offset: number, length: number): number | undefined {
  try {
    const size = decodeRemoteFilename(parseFileId(fileId).remoteFilename).size;
    if (size < 0) return undefined;
    const rest = Math.max(0, size - offset);
    return length > 0 ? Math.min(length, rest) : rest;
  } catch {
    return undefined; // the client reports a bad id with its own message
  }
}

async function toStream(body: NodeJS.ReadableStream, meter: Writable, out: Writable): Promise<void> {
  try {
    await pipeline(body, meter, out, { end: false });
  } catch (err) {
    // A reader that stops early (`| head`) is not a failed download.
    if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
  }
}

async function toFile(body: NodeJS.ReadableStream, meter: Writable, path: string): Promise<void> {
  try {
    await pipeline(body, meter, createWriteStream(path));
  } catch (err) {
    // Leave no partial file behind; devices and pipes given as the target are left alone.
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile()) await rm(path, { force: true });
    throw err;
  }
}
