/**
 * Signed links: `?sig=<JWT>`, HS256 with http.jwt.secret, `exp` required, `sub` = the file id so
 * a link opens one file only, `aud` = fdfs-link so a link is never taken for an API bearer token.
 * A `kid` header picks the key, so keys can rotate without breaking links already handed out.
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import type { HttpConfig } from '../config/types.js';
import { fail } from './errors.js';

export const LINK_AUDIENCE = 'fdfs-link';
/** How far a signer's clock may run ahead of ours before its `iat` counts as "in the future". */
export const LINK_CLOCK_SKEW_SEC = 5;

type JwtConfig = HttpConfig['jwt'];

export class LinkSigner {
  private readonly keys = new Map<string, Uint8Array>();
  private readonly current: Uint8Array | undefined;

  constructor(private readonly jwt: JwtConfig) {
    const enc = new TextEncoder();
    this.current = jwt.secret === '' ? undefined : enc.encode(jwt.secret);
    if (this.current && jwt.kid !== '') this.keys.set(jwt.kid, this.current);
    for (const k of jwt.previous) if (!this.keys.has(k.kid)) this.keys.set(k.kid, enc.encode(k.secret));
  }

  get enabled(): boolean {
    return this.current !== undefined;
  }

  /** A link token for `fileId` valid `ttlSec` seconds from `nowSec`. */
  async sign(fileId: string, ttlSec: number, nowSec: number): Promise<{ token: string; exp: number }> {
    if (!this.current) throw fail.notEnabled('signed links are off (http.jwt.secret is not set)');
    const maxSec = Math.floor(this.jwt.maxTtl / 1000);
    if (!Number.isSafeInteger(ttlSec) || ttlSec < 1 || ttlSec > maxSec) {
      throw fail.badRequest(`ttl must be a whole number of seconds from 1 to ${maxSec}`);
    }
    const exp = nowSec + ttlSec;
    const header = this.jwt.kid === '' ? { alg: 'HS256' } : { alg: 'HS256', kid: this.jwt.kid };
    const token = await new SignJWT({})
      .setProtectedHeader(header)
      .setSubject(fileId)
      .setAudience(LINK_AUDIENCE)
      .setIssuedAt(nowSec)
      .setExpirationTime(exp)
      .sign(this.current);
    return { token, exp };
  }

  /** Throws EPERM (403) saying why the link does not open `fileId`. */
  async verify(token: string, fileId: string, nowMs: number): Promise<void> {
    if (!this.current) throw fail.forbidden('signed links are off on this gateway');
    let claims: { sub?: string | undefined; exp?: number | undefined; iat?: number | undefined };
    try {
      const { payload } = await jwtVerify(token, (h) => this.keyFor(h.kid), {
        algorithms: ['HS256'],
        audience: LINK_AUDIENCE,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(nowMs),
      });
      claims = payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw fail.forbidden('signed link expired', fileId);
      throw fail.forbidden('invalid signed link', fileId);
    }
    if (claims.sub !== fileId) throw fail.forbidden('signed link is for another file', fileId);
    // max_ttl holds for every link, not only for those this gateway signs: a leaked key must not
    // mint links that outlive it, and a link made after a lowered max_ttl expires by the new one.
    const nowSec = nowMs / 1000;
    const maxSec = this.jwt.maxTtl / 1000;
    if ((claims.exp ?? 0) > nowSec + maxSec + LINK_CLOCK_SKEW_SEC) {
      throw fail.forbidden(`signed link lives longer than http.jwt.max_ttl (${maxSec} s)`, fileId);
    }
    if (claims.iat !== undefined && claims.iat > nowSec + LINK_CLOCK_SKEW_SEC) {
      throw fail.forbidden('signed link is issued in the future', fileId);
    }
  }

  private keyFor(kid: string | undefined): Uint8Array {
    // No kid: only the current key. An unknown kid fails rather than falling back.
    const key = kid === undefined ? this.current : this.keys.get(kid);
    if (!key) throw fail.forbidden('signed link names an unknown key');
    return key;
  }
}
