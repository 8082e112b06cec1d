/** The upload routes on hono; the work is UploadService's, shared with serve.ts's raw path. */
import type { Context, Hono } from 'hono';
import { requestBody } from './body.js';
import type { GatewayEnv } from './context.js';
import { baseUrl, peerOf } from './peer.js';
import type { UploadRequest, UploadService } from './upload-service.js';

export function fromHono(c: Context): UploadRequest {
  let body: ReturnType<typeof requestBody> | undefined;
  return {
    header: (name) => c.req.header(name),
    headers: () => c.req.raw.headers.entries(),
    body: () => {
      body ??= requestBody(c.req.raw.body);
      return body;
    },
    peer: peerOf(c),
    origin: () => baseUrl(c, ''),
  };
}

export function uploadRoutes(app: Hono<GatewayEnv>, uploads: UploadService): void {
  app.post('/upload', async (c) => c.json(await uploads.post(fromHono(c))));
  app.put('/upload/:name', async (c) =>
    c.json(await uploads.put(fromHono(c), c.req.param('name'), c.req.query('group'))),
  );
}
