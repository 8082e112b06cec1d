/**
 * Bearer auth for writes (uploads, deletes, /api/sign, /api/cluster) when http.auth keys exist.
 * API keys are compared as SHA-256 digests with timingSafeEqual against every key, so neither a
 * key's length nor which key matched leaks through timing. A JWT bearer needs `scope`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { jwtVerify } from 'jose';
import type { HttpConfig } from '../config/types.js';
import { fail } from './errors.js';
import { LINK_AUDIENCE } from './links.js';

export type Scope = 'upload' | 'delete' | 'sign' | 'admin';

const digest = (text: string) => createHash('sha256').update(text).digest();

export class Authenticator {
  private readonly keys: readonly Buffer[];
  private readonly jwtKey: Uint8Array | undefined;

  constructor(auth: HttpConfig['auth']) {
    this.keys = auth.apiKeys.map(digest);
    this.jwtKey = auth.jwtSecret === '' ? undefined : new TextEncoder().encode(auth.jwtSecret);
  }

  /** False: no key configured, writes are open (and the gateway binds 127.0.0.1 only). */
  get enabled(): boolean {
    return this.keys.length > 0 || this.jwtKey !== undefined;
  }

  /** Returns who asked (for logs, never the secret); throws EACCES (401) or EPERM (403). */
  async require(authorization: string | undefined, scope: Scope, nowMs: number): Promise<string> {
    if (!this.enabled) return 'open';
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    const presented = m?.[1];
    if (presented === undefined) throw fail.unauthorized(`a bearer token is required to ${scope}`);
    const d = digest(presented);
    let matched = -1;
    for (const [i, key] of this.keys.entries()) if (timingSafeEqual(d, key) && matched < 0) matched = i;
    if (matched >= 0) return `api-key#${matched}`;
    if (this.jwtKey && presented.split('.').length === 3) return this.viaJwt(presented, scope, nowMs);
    throw fail.unauthorized('unknown bearer token');
  }

  private async viaJwt(token: string, scope: Scope, nowMs: number): Promise<string> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.jwtKey as Uint8Array, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        currentDate: new Date(nowMs),
      }));
    } catch {
      throw fail.unauthorized('invalid or expired bearer token');
    }
    // A download link is not an API credential, even when both keys are the same.
    const aud = payload.aud;
    if (aud === LINK_AUDIENCE || (Array.isArray(aud) && aud.includes(LINK_AUDIENCE))) {
      throw fail.unauthorized('a signed download link is not a bearer token');
    }
    const raw = payload.scope;
    const scopes = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(' ') : [];
    if (!scopes.includes(scope)) throw fail.forbidden(`bearer token lacks the "${scope}" scope`);
    return typeof payload.sub === 'string' ? `jwt:${payload.sub.slice(0, 64)}` : 'jwt';
  }
}
