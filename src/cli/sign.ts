/**
 * `fdfs sign <fileId>`: a download link made offline from http.conf's keys, the same link
 * POST /api/sign answers. No server is asked; the gateway that checks it needs the same keys.
 */
import { stat } from 'node:fs/promises';
import { FdfsError, Status } from '../common/index.js';
import { defaultHttpConfig, loadHttpConfig } from '../config/index.js';
import { parseFileId } from '../fileid/index.js';
import { fastdfsToken, LinkSigner } from '../gateway/index.js';
import { canonicalQuery, parseVariantQuery } from '../image/index.js';
import { overridesOf, parse } from './args.js';

export const signHelp = `fdfs sign <fileId> [--ttl SECONDS] [--variant QUERY] [--conf http.conf] [--md5] [--set key=value ...]
  Prints a download link for <fileId>, made offline from the conf's keys:
  a signed link (?sig=<JWT>, key http.jwt.secret), or with --md5 a FastDFS token link
  (?token=<md5>&ts=<unix>, key http.anti_steal.secret_key; valid for token_ttl, --ttl is ignored).
  --ttl SECONDS   lifetime of a signed link (default http.anti_steal.token_ttl, 600)
  --variant QUERY an image variant the link renders, and only that one (e.g. "w=800&fmt=webp"),
                  as POST /api/sign's "variant": sizes outside http.image.presets need one
  --conf FILE     the gateway's http.conf (default conf/http.conf if it exists)
  The link starts with http.public_url, else http://<http.bind_addr or 127.0.0.1>:<http.server_port>.
Example: fdfs sign group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png --ttl 600`;

export async function signCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    ttl: { type: 'string' },
    conf: { type: 'string' },
    md5: { type: 'boolean' },
    variant: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(`${signHelp}\n`);
    return;
  }
  const fileId = positionals[0];
  if (!fileId) throw new FdfsError(Status.EINVAL, 'fdfs sign: missing the file id (see --help)');
  const { group, remoteFilename } = parseFileId(fileId);
  const overrides = overridesOf(values.set as string[] | undefined);
  const fallback = await stat('conf/http.conf').then(
    () => 'conf/http.conf',
    () => undefined,
  );
  const confPath = (values.conf as string | undefined) ?? fallback;
  const { config } = confPath ? await loadHttpConfig(confPath, overrides) : defaultHttpConfig(overrides);
  const host = config.bindAddr && config.bindAddr !== '0.0.0.0' ? config.bindAddr : '127.0.0.1';
  const base = config.publicUrl || `http://${host}:${config.port}`;
  const nowSec = Math.floor(Date.now() / 1000);
  const variant = values.variant as string | undefined;
  if (values.md5) {
    if (variant !== undefined)
      throw new FdfsError(Status.EINVAL, 'fdfs sign: --variant needs a signed link, not --md5');
    const key = config.antiSteal.secretKey;
    if (key === '')
      throw new FdfsError(Status.EINVAL, 'fdfs sign --md5: http.anti_steal.secret_key is not set');
    const token = fastdfsToken(remoteFilename, key, nowSec);
    process.stdout.write(`${base}/${group}/${remoteFilename}?token=${token}&ts=${nowSec}\n`);
    return;
  }
  const ttlText = values.ttl as string | undefined;
  const ttl = ttlText === undefined ? Math.floor(config.antiSteal.tokenTtl / 1000) : Number(ttlText);
  const canonical = `${group}/${remoteFilename}`;
  // The same subject the gateway signs for a variant: the master and the canonical variant query.
  const query =
    variant === undefined
      ? undefined
      : canonicalQuery(parseVariantQuery(new URLSearchParams(variant), config.image));
  const subject = query === undefined ? canonical : `${canonical}?${query}`;
  const { token } = await new LinkSigner(config.jwt).sign(subject, ttl, nowSec);
  process.stdout.write(`${base}/${canonical}?${query === undefined ? '' : `${query}&`}sig=${token}\n`);
}
