/**
 * Where masters are read and variants stored: the local storage's disk when it holds the master
 * (beside a storage), the cluster otherwise (`fdfs gateway`, or a master another storage has).
 */
import { isFdfsError, Status } from '../common/index.js';
import { recordedSlaves } from '../fileid/index.js';
import { type FileTarget, fail, type GatewayContext, type LocalStore, spoken } from '../gateway/index.js';

const CHUNK = 256 * 1024;

async function orMissing<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isFdfsError(err, Status.ENOENT)) return undefined;
    throw err;
  }
}

export class VariantStore {
  constructor(private readonly ctx: GatewayContext) {}

  private localOf(group: string): LocalStore | undefined {
    const local = this.ctx.local;
    return local?.group === group ? local : undefined;
  }

  /** 'local' when the local storage holds the file, 'remote' when the cluster does, else undefined. */
  async where(t: FileTarget, localOnly = false): Promise<'local' | 'remote' | undefined> {
    const local = this.localOf(t.group);
    if (local && (await orMissing(local.stat(t.remoteFilename)))) return 'local';
    const remote = this.ctx.remote;
    if (localOnly) return undefined;
    if (!remote) return undefined;
    return (await orMissing(remote.fileInfo(t.fileId, { fromServer: true }))) ? 'remote' : undefined;
  }

  /** The whole master, refused (413) past `max` bytes: a render needs it in memory anyway. */
  async read(t: FileTarget, where: 'local' | 'remote', max: number): Promise<Buffer> {
    const tooBig = () =>
      spoken(fail.tooLarge(`${t.fileId} is larger than http.image.max_input_size (${max} bytes)`));
    const local = this.localOf(t.group);
    if (where === 'local' && local) {
      const h = await local.open(t.remoteFilename);
      try {
        if (h.size > max) throw tooBig();
        const parts: Buffer[] = [];
        for (let pos = 0; pos < h.size; ) {
          const chunk = await h.read(pos, Math.min(CHUNK, h.size - pos));
          if (chunk.length === 0) break;
          parts.push(chunk);
          pos += chunk.length;
        }
        return Buffer.concat(parts);
      } finally {
        await h.close();
      }
    }
    const remote = this.ctx.remote;
    if (!remote) throw fail.notFound(`file ${t.fileId} not found`, t.fileId);
    const body = await remote.download(t.fileId);
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > max) {
        body.destroy();
        throw tooBig();
      }
      parts.push(chunk as Buffer);
    }
    return Buffer.concat(parts, size);
  }

  /** Merges one name into the master's metadata (the record its deletion finds the variant by). */
  async record(t: FileTarget, where: 'local' | 'remote', name: string, value: string): Promise<void> {
    const local = this.localOf(t.group);
    if (where === 'local' && local) await local.setMetadata(t.remoteFilename, { [name]: value }, 'merge');
    else await this.ctx.remote?.setMetadata(t.fileId, { [name]: value }, 'merge');
  }

  /** Stores the variant as a slave of the master; one stored meanwhile by another gateway is kept. */
  async storeSlave(
    t: FileTarget,
    where: 'local' | 'remote',
    prefix: string,
    ext: string,
    data: Buffer,
  ): Promise<void> {
    const local = this.localOf(t.group);
    try {
      if (where === 'local' && local?.uploadSlave)
        await local.uploadSlave(t.remoteFilename, prefix, ext, data);
      else if (this.ctx.remote) await this.ctx.remote.uploadSlave(t.fileId, data, { prefix, ext });
      else throw fail.notFound(`file ${t.fileId} not found`, t.fileId);
    } catch (err) {
      if (!isFdfsError(err, Status.EEXIST)) throw err;
    }
  }

  /** Remote filenames of the variants recorded on a master; [] when it has none or is missing. */
  async recorded(t: FileTarget): Promise<string[]> {
    const local = this.localOf(t.group);
    let meta: Record<string, string> | undefined;
    if (local && (await orMissing(local.stat(t.remoteFilename))))
      meta = await local.getMetadata(t.remoteFilename);
    else if (this.ctx.remote) meta = await orMissing(this.ctx.remote.getMetadata(t.fileId));
    return meta ? recordedSlaves(t.remoteFilename, meta) : [];
  }

  /** Deletes a file through the cluster; one already gone is fine. */
  async deleteRemote(fileId: string): Promise<void> {
    await orMissing(this.ctx.remote?.delete(fileId) ?? Promise.resolve());
  }
}
