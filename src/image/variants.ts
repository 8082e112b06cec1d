/**
 * The gateway's VariantHook: a variant URL maps to a slave file of its master. A stored slave is
 * served as any file (cache, ETag, Range, tokens); a missing one is rendered once (one render per
 * slave however many ask at once), recorded on the master, stored, then served.
 */
import { FdfsError, isFdfsError, Status } from '../common/index.js';
import type { ImageConfig } from '../config/index.js';
import { decodeRemoteFilename, parseFileId, slaveRecordName, slaveRemoteFilename } from '../fileid/index.js';
import {
  type FileReply,
  type FileRequest,
  type FileService,
  type FileTarget,
  fail,
  type GatewayContext,
  spoken,
  type VariantHook,
} from '../gateway/index.js';
import { VariantMetrics } from './metrics.js';
import { render } from './render.js';
import { RenderSlots } from './slots.js';
import {
  canonicalQuery,
  extOfFormat,
  extOfName,
  type Format,
  isPreset,
  isRefusal,
  outputFormat,
  parseVariantName,
  parseVariantQuery,
  prefixOf,
  VARIANT_PARAMS,
  type VariantSpec,
  wantsVariant,
} from './spec.js';
import { VariantStore } from './store.js';

interface ParsedQuery {
  readonly spec: VariantSpec;
  readonly signed: boolean;
  readonly preset: boolean;
  /** Nothing but variant parameters: the only queries the synchronous path answers. */
  readonly bare: boolean;
}

const MEMO_MAX = 10_000;
/** Extensions a master of a slave-name URL is looked for under, after the variant's own. */
const MASTER_EXTS = ['jpg', 'jpeg', 'png', 'webp', 'avif', 'gif', 'heic', 'heif', 'tif', 'tiff', ''];

function remember<K, V>(map: Map<K, V>, key: K, value: V): V {
  if (map.size >= MEMO_MAX) map.clear();
  map.set(key, value);
  return value;
}

function withVary(reply: FileReply): FileReply {
  return { ...reply, headers: { ...reply.headers, Vary: 'Accept' } };
}

function presetList(cfg: ImageConfig): string {
  return cfg.presets.length === 0 ? 'none' : cfg.presets.map((p) => `${p.width}x${p.height}`).join(', ');
}

export class ImageVariants implements VariantHook {
  private readonly cfg: ImageConfig;
  private readonly store: VariantStore;
  private readonly slots: RenderSlots;
  private readonly stats = new VariantMetrics();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly queries = new Map<string, ParsedQuery | FdfsError>();
  private readonly slaves = new Map<string, FileTarget>();

  constructor(
    private readonly ctx: GatewayContext,
    private readonly files: FileService,
  ) {
    this.cfg = ctx.config.image;
    this.store = new VariantStore(ctx);
    this.slots = new RenderSlots(this.cfg.maxRenders, this.cfg.maxQueue);
  }

  wants(q: URLSearchParams | undefined): boolean {
    return wantsVariant(q);
  }

  fast(target: FileTarget, query: string, plain: boolean, accept: string | undefined): FileReply | undefined {
    if (!plain || this.ctx.config.antiSteal.checkToken) return;
    const p = this.parsed(query);
    if (p instanceof FdfsError || !p.bare || !p.preset) return;
    const format = outputFormat(p.spec, extOfName(target.remoteFilename), accept);
    const slave = this.slaveOf(target, prefixOf(p.spec), extOfFormat(format));
    const reply = this.files.fast(slave, '', true);
    if (reply === undefined) return;
    this.stats.served++;
    return p.spec.format === 'auto' ? withVary(reply) : reply;
  }

  async serve(req: FileRequest, target: FileTarget): Promise<FileReply> {
    const p = this.parsed(req.query);
    if (p instanceof FdfsError) throw p;
    const { spec } = p;
    if (!p.signed && !p.preset) {
      throw fail.badRequest(
        `image variant ${spec.width}x${spec.height}${spec.quality === undefined ? '' : ` q=${spec.quality}`} is not a preset (http.image.presets: ${presetList(this.cfg)}); other variants need a signed URL`,
        target.fileId,
      );
    }
    const format = outputFormat(spec, extOfName(target.remoteFilename), req.header('accept'));
    const prefix = prefixOf(spec);
    const ext = extOfFormat(format);
    const slave = this.slaveOf(target, prefix, ext);
    const opts = { accessAs: { target, subject: `${target.fileId}?${canonicalQuery(spec)}` }, render: false };
    let reply: FileReply;
    try {
      reply = await this.files.serve(req, slave, opts);
      this.stats.served++;
    } catch (err) {
      if (!isFdfsError(err, Status.ENOENT)) throw err;
      await this.make(target, slave, spec, format, prefix, ext);
      reply = await this.files.serve(req, slave, opts);
    }
    return spec.format === 'auto' ? withVary(reply) : reply;
  }

  async missing(req: FileRequest, target: FileTarget): Promise<FileReply | undefined> {
    const v = parseVariantName(target.remoteFilename, this.cfg);
    if (v === undefined) return undefined;
    // A sig on this URL was verified for this very file id before the file was looked for.
    const signed = req.query !== '' && new URLSearchParams(req.query).has('sig');
    if (!signed && !isPreset(v.spec, this.cfg)) return undefined;
    const master = await this.masterOf(target, v.stem, v.prefix, v.ext);
    if (master === undefined) return undefined;
    await this.make(master, target, v.spec, v.format, v.prefix, v.ext);
    return this.files.serve(req, target, { render: false });
  }

  async beforeDelete(target: FileTarget): Promise<void> {
    const slaves = await this.store.recorded(target).catch(() => [] as string[]);
    // Beside the master's storage its own delete takes the variants; elsewhere nobody else will.
    const local = this.ctx.local?.group === target.group;
    for (const remote of slaves) {
      this.ctx.cache.delete(remote);
      if (!local) await this.store.deleteRemote(`${target.group}/${remote}`);
    }
  }

  signable(fileId: string, variant: string): { subject: string; query: string } {
    const spec = parseVariantQuery(new URLSearchParams(variant), this.cfg);
    const query = canonicalQuery(spec);
    return { subject: `${fileId}?${query}`, query };
  }

  metrics(): string {
    return this.stats.render(this.slots);
  }

  private parsed(query: string): ParsedQuery | FdfsError {
    const hit = this.queries.get(query);
    if (hit !== undefined) return hit;
    const q = new URLSearchParams(query);
    let result: ParsedQuery | FdfsError;
    try {
      const spec = parseVariantQuery(q, this.cfg);
      const bare = [...q.keys()].every((k) => VARIANT_PARAMS.includes(k));
      result = { spec, signed: q.has('sig'), preset: isPreset(spec, this.cfg), bare };
    } catch (err) {
      if (!(err instanceof FdfsError)) throw err;
      result = err;
    }
    return remember(this.queries, query, result);
  }

  private slaveOf(master: FileTarget, prefix: string, ext: string): FileTarget {
    const key = `${master.fileId}\u0000${prefix}\u0000${ext}`;
    const hit = this.slaves.get(key);
    if (hit !== undefined) return hit;
    let remote: string;
    try {
      remote = slaveRemoteFilename(master.remoteFilename, prefix, ext);
    } catch (err) {
      throw spoken(err);
    }
    const fileId = `${master.group}/${remote}`;
    return remember(this.slaves, key, { ...parseFileId(fileId), fileId });
  }

  /** The master of a slave-name URL: its extension is not in the name, so the usual ones are tried. */
  private async masterOf(
    slave: FileTarget,
    stem: string,
    prefix: string,
    ext: string,
  ): Promise<FileTarget | undefined> {
    const candidates: FileTarget[] = [];
    for (const e of new Set([ext, ...MASTER_EXTS])) {
      const remote = e === '' ? stem : `${stem}.${e}`;
      try {
        if (slaveRemoteFilename(remote, prefix, ext) !== slave.remoteFilename) continue;
        candidates.push({ ...parseFileId(`${slave.group}/${remote}`), fileId: `${slave.group}/${remote}` });
      } catch {
        // not a valid master name with this extension
      }
    }
    // The local disk first (a stat each), the cluster (a round trip each) only if it has none.
    for (const localOnly of [true, false]) {
      for (const master of candidates) if (await this.store.where(master, localOnly)) return master;
    }
    return undefined;
  }

  /** Renders and stores `slave` unless it exists; concurrent asks for one slave share the work. */
  private async make(
    master: FileTarget,
    slave: FileTarget,
    spec: VariantSpec,
    format: Format,
    prefix: string,
    ext: string,
  ): Promise<void> {
    let work = this.inflight.get(slave.fileId);
    if (work === undefined) {
      work = this.slots
        .run(() => this.renderAndStore(master, slave, spec, format, prefix, ext))
        .finally(() => this.inflight.delete(slave.fileId));
      this.inflight.set(slave.fileId, work);
    }
    await work;
  }

  private async renderAndStore(
    master: FileTarget,
    slave: FileTarget,
    spec: VariantSpec,
    format: Format,
    prefix: string,
    ext: string,
  ): Promise<void> {
    // Stored meanwhile (by a request ahead in the queue or another gateway): nothing to do.
    if (await this.store.where(slave)) return;
    const where = await this.store.where(master);
    if (where === undefined) throw fail.notFound(`file ${master.fileId} not found`, master.fileId);
    // An appender file changes in place: a variant stored once would go stale.
    if (decodeRemoteFilename(master.remoteFilename).type === 'appender') {
      throw fail.badRequest(
        `${master.fileId} is an appender file; variants are made of normal files`,
        master.fileId,
      );
    }
    const t0 = performance.now();
    let data: Buffer;
    try {
      const input = await this.store.read(master, where, this.cfg.maxInputSize);
      data = (await render(input, spec, format, this.cfg, master.fileId)).data;
    } catch (err) {
      this.stats.failedRender(isRefusal(err), performance.now() - t0);
      throw err;
    }
    const ms = performance.now() - t0;
    this.stats.rendered(ms);
    // Recorded before stored: a crash in between leaves a record of nothing, never an orphan.
    await this.store.record(master, where, slaveRecordName(prefix, ext), canonicalQuery(spec));
    await this.store.storeSlave(master, where, prefix, ext, data);
    this.ctx.logger.info('image variant stored', {
      fileId: slave.fileId,
      master: master.fileId,
      bytes: data.length,
      ms: Math.round(ms),
      format,
    });
  }
}
