/** Minimal typing of the npm `fdfs` client (a FastDFS client nobody here wrote), used by tests. */
declare module 'fdfs' {
  import type { Readable, Writable } from 'node:stream';

  interface FdfsOptions {
    trackers: { host: string; port: number }[];
    timeout?: number;
    defaultExt?: string;
    charset?: string;
    logger?: unknown;
  }
  interface UploadOptions {
    method?: 'upload' | 'uploadAppender' | 'append' | 'modify';
    ext?: string;
    size?: number;
    group?: string;
    fileId?: string;
    offset?: number;
  }
  class FdfsClient {
    constructor(options: FdfsOptions);
    upload(file: string | Buffer | Readable, options?: UploadOptions): Promise<string>;
    download(
      fileId: string,
      options: string | Writable | { target: string | Writable; offset?: number; bytes?: number },
    ): Promise<void>;
    del(fileId: string): Promise<void>;
    setMetaData(fileId: string, meta: Record<string, string>, flag?: 'O' | 'M'): Promise<void>;
    getMetaData(fileId: string): Promise<Record<string, string>>;
    getFileInfo(fileId: string): Promise<{ size: number; timestamp: number; crc32: number; addr: string }>;
  }
  export = FdfsClient;
}
