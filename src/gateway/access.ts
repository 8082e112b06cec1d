/**
 * Who may download. A `sig` link is always checked when present (a link that says it expires,
 * expires), whether or not downloads need one. The FastDFS `token` is checked only with
 * http.anti_steal.check_token, as FastDFS does; then a download needs a good token or link.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isFdfsError, Status } from '../common/index.js';
import type { GatewayContext } from './context.js';
import { typeOfExt } from './file-headers.js';
import type { FileTarget } from './file-url.js';
import { checkToken } from './token.js';

export interface FailFile {
  readonly data: Buffer;
  readonly type: string;
}

export class AccessGuard {
  private failFile: Promise<FailFile> | undefined;

  constructor(private readonly ctx: GatewayContext) {}

  /**
   * Resolves to true when access needed a credential (the answer is then private). A signed link
   * must name `subject`: the file id, or an image variant's canonical form.
   */
  async check(t: FileTarget, q: URLSearchParams | undefined, subject = t.fileId): Promise<boolean> {
    const { ctx } = this;
    const sig = q?.get('sig');
    if (sig !== undefined && sig !== null) {
      await ctx.links.verify(sig, subject, ctx.now());
      return true;
    }
    const rules = ctx.config.antiSteal;
    if (!rules.checkToken) return false;
    checkToken(
      t.remoteFilename,
      q?.get('token'),
      q?.get('ts'),
      { secretKey: rules.secretKey, ttlSec: rules.tokenTtl / 1000, allowLegacyTs: rules.allowLegacyTs },
      Math.floor(ctx.now() / 1000),
    );
    return true;
  }

  /** http.anti_steal.token_check_fail's file, read once; undefined when none is configured. */
  async fallback(err: unknown): Promise<FailFile | undefined> {
    const path = this.ctx.config.antiSteal.tokenCheckFail;
    if (path === '' || !isFdfsError(err, Status.EPERM)) return undefined;
    this.failFile ??= readFile(path).then((data) => ({
      data,
      type: typeOfExt(extname(path).slice(1), this.ctx.config.defaultContentType).type,
    }));
    try {
      return await this.failFile;
    } catch (readErr) {
      this.failFile = undefined;
      this.ctx.logger.error('cannot read http.anti_steal.token_check_fail', { path, err: readErr });
      return undefined;
    }
  }
}
