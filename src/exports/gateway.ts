/**
 * `fastdfs-ts/gateway`: the HTTP gateway as a hono app (mount it, or serve it on node:http), the
 * upload and file handlers for one's own routes, and http.conf loading.
 */
import type { RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { defaultHttpConfig, type HttpConfig } from '../config/index.js';
import { type AppDeps, createApp } from '../gateway/index.js';
import { type ConfValues, strict, toOverrides } from './conf-values.js';

export { defaultHttpConfig, type HttpConfig, loadHttpConfig } from '../config/index.js';
export {
  type AppDeps,
  createApp,
  errorBody,
  type FileHandlerOptions,
  fastdfsToken,
  fileHandler,
  type GatewayHandle,
  type GatewayLimits,
  type HandlerOptions,
  httpStatusOf,
  LinkSigner,
  type RemoteStore,
  startGateway,
  uploadHandler,
} from '../gateway/index.js';

/** An HttpConfig from http.conf keys: `httpConfig({ 'http.upload.max_size': '10MB' })`. */
export function httpConfig(values?: ConfValues): HttpConfig {
  return strict(defaultHttpConfig(toOverrides(values)));
}

/** The whole gateway as a node:http request listener: `createServer(createRequestListener(…))`. */
export function createRequestListener(config: HttpConfig, deps: AppDeps): RequestListener {
  return getRequestListener(createApp(config, deps).fetch);
}
