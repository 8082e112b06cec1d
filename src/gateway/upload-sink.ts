/**
 * Where an upload's bytes go. Beside a storage of the target group: straight into its durable
 * writer (one copy, streamed, size unknown up front). Otherwise to the cluster via the client:
 * streamed as is when the size is known (PUT with Content-Length), spooled first when not.
 */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeRemoteFilename, parseFileId } from '../fileid/index.js';
import { type GatewayContext, isLocal } from './context.js';
import { fail } from './errors.js';
import { limiter, spool } from './spool.js';

export interface StoreRequest {
  readonly body: Readable;
  readonly ext: string;
  /** The client's name for the file, echoed back. */
  readonly name: string;
  readonly group: string | undefined;
  readonly meta: Record<string, string>;
  /** Exact size when the request states it. */
  readonly size?: number;
}

export interface StoredFile {
  readonly fileId: string;
  readonly group: string;
  readonly remote: string;
  readonly size: number;
  readonly crc32: number;
  readonly name: string;
}

export class UploadSink {
  constructor(private readonly ctx: GatewayContext) {}

  async store(req: StoreRequest): Promise<StoredFile> {
    const { ctx } = this;
    const maxSize = ctx.config.upload.maxSize;
    if (req.size !== undefined && req.size > maxSize) {
      throw fail.tooLarge(`file of ${req.size} bytes is larger than the ${maxSize}-byte limit`);
    }
    const local = ctx.local;
    if (local && (req.group === undefined || isLocal(ctx, req.group))) {
      const remote = await local.upload(req.body, {
        ext: req.ext,
        maxSize,
        ...(req.size === undefined ? {} : { size: req.size }),
      });
      if (Object.keys(req.meta).length > 0) {
        try {
          await local.setMetadata(remote, req.meta);
        } catch (err) {
          await local.delete(remote).catch((delErr: unknown) => {
            ctx.logger.warn('could not remove a file whose metadata failed', { remote, err: delErr });
          });
          throw err;
        }
      }
      return this.describe(`${local.group}/${remote}`, req.name);
    }
    const cluster = ctx.remote;
    if (!cluster) throw fail.notFound(`group ${req.group} is not served by this gateway`);
    const opts = {
      ext: req.ext,
      ...(req.group === undefined ? {} : { group: req.group }),
      metadata: req.meta,
    };
    if (req.size !== undefined) {
      // `req.body` is detached from the socket (see body.ts), so failing it here is safe.
      const limited = new PassThrough();
      const piping = pipeline(req.body, limiter(req.size), limited);
      try {
        const [fileId] = await Promise.all([
          cluster.upload({ stream: limited, size: req.size }, opts),
          piping,
        ]);
        return this.describe(fileId, req.name);
      } catch (err) {
        limited.destroy();
        throw err;
      }
    }
    const spooled = await spool(ctx.spoolDir, req.body, maxSize);
    try {
      return this.describe(await cluster.upload(spooled.path, opts), req.name);
    } finally {
      await spooled.remove();
    }
  }

  /** Deletes files of a request that failed as a whole; best effort, each failure logged. */
  async rollback(files: readonly StoredFile[]): Promise<void> {
    for (const f of files) {
      try {
        if (this.ctx.local && isLocal(this.ctx, f.group)) await this.ctx.local.delete(f.remote);
        else await this.ctx.remote?.delete(f.fileId);
      } catch (err) {
        this.ctx.logger.warn('could not roll back an upload of a failed request', { fileId: f.fileId, err });
      }
    }
  }

  private describe(fileId: string, name: string): StoredFile {
    const { group, remoteFilename } = parseFileId(fileId);
    const d = decodeRemoteFilename(remoteFilename);
    return { fileId, group, remote: remoteFilename, size: d.size, crc32: d.crc32, name };
  }
}
