export { type AppDeps, createApp, createGateway, type Gateway } from './app.js';
export { answerHalfClosed } from './conn-limit.js';
export type { GatewayContext } from './context.js';
export { errorBody, fail, httpStatusOf, spoken } from './errors.js';
export type { FileReply, FileRequest, FileService, SendableFile, ServeOptions } from './file-get.js';
export { type FileTarget, parseFileUrl } from './file-url.js';
export { type FileHandlerOptions, fileHandler, type HandlerOptions, uploadHandler } from './handlers.js';
export { LINK_AUDIENCE, LinkSigner } from './links.js';
export { MAX_RANGES, parseRange } from './range.js';
export { sendResponseBody } from './send-file.js';
export { type GatewayHandle, type GatewayLimits, startGateway } from './serve.js';
export { clearSpool, limiter, type Spooled, spool, type TooLarge } from './spool.js';
export { checkToken, fastdfsToken, TOKEN_CLOCK_SKEW_SEC } from './token.js';
export type {
  GatewayDeps,
  LocalHandle,
  LocalStat,
  LocalStore,
  LocalUpload,
  RemoteStore,
  VariantHook,
  VariantPlugin,
} from './types.js';
