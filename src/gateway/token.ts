/**
 * FastDFS' anti-steal token (fact sheet §6.1): md5(remote filename without group ‖ secret ‖ ts)
 * in lower-case hex. Links made for nginx + fastdfs-nginx-module verify here unchanged, except
 * for FastDFS' two holes, closed unless http.anti_steal.allow_legacy_ts: ts=0 never expiring,
 * and a ts in the future stretching a link's life past token_ttl.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { fail } from './errors.js';

/** Tolerated clock difference between the server that makes tokens and this one. */
export const TOKEN_CLOCK_SKEW_SEC = 5;

export function fastdfsToken(remoteFilename: string, secretKey: string, ts: number): string {
  return createHash('md5').update(`${remoteFilename}${secretKey}${ts}`).digest('hex');
}

export interface TokenRules {
  readonly secretKey: string;
  readonly ttlSec: number;
  readonly allowLegacyTs: boolean;
}

/** Throws EPERM (403) saying why; returns when the token is good. */
export function checkToken(
  remoteFilename: string,
  token: string | null | undefined,
  tsText: string | null | undefined,
  rules: TokenRules,
  nowSec: number,
): void {
  if (!token || !tsText) throw fail.forbidden('token and ts are required');
  // Case-sensitive like FastDFS' memcmp: an upper-case hex token fails.
  if (!/^[0-9a-f]{32}$/.test(token)) throw fail.forbidden('malformed token: expected 32 lower-case hex');
  if (!/^\d{1,12}$/.test(tsText)) throw fail.forbidden('malformed ts: expected unix seconds');
  const ts = Number(tsText);
  if (!rules.allowLegacyTs) {
    if (ts === 0) throw fail.forbidden('ts=0 (a token that never expires) is refused');
    if (ts > nowSec + TOKEN_CLOCK_SKEW_SEC) throw fail.forbidden('ts is in the future');
  }
  if (ts !== 0 && nowSec - ts > rules.ttlSec) throw fail.forbidden('token expired');
  const want = Buffer.from(fastdfsToken(remoteFilename, rules.secretKey, ts));
  if (!timingSafeEqual(want, Buffer.from(token))) throw fail.forbidden('wrong token');
}
