/** The client's address for logs. Read defensively: app.request() tests have no socket at all. */
import type { Context } from 'hono';

interface NodeEnv {
  incoming?: { socket?: { remoteAddress?: string; remotePort?: number } };
}

export function peerOf(c: Context): string {
  const s = (c.env as NodeEnv | undefined)?.incoming?.socket;
  return s?.remoteAddress ? `${s.remoteAddress}:${s.remotePort ?? 0}` : 'in-process';
}

/** Base of URLs in answers: http.public_url, else the scheme and host of the request. */
export function baseUrl(c: Context, publicUrl: string): string {
  return publicUrl || new URL(c.req.url).origin;
}
