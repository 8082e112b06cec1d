/**
 * The storage commands a client sends (fact sheet §4), one request per call on a Connection the
 * caller holds. Errors name the command, the file and the storage.
 */
import type { Readable } from 'node:stream';
import {
  BodyWriter,
  Cmd,
  decodeFileInfo,
  decodeUploadReply,
  encodeAppendPrefix,
  encodeDownload,
  encodeGroupAndName,
  encodeSetMetadata,
  encodeSlavePrefix,
  encodeTruncate,
  encodeUploadPrefix,
  type FileInfoReply,
  type Header,
  METADATA_MERGE,
  METADATA_OVERWRITE,
  type Metadata,
  packMetadata,
  Status,
  unpackMetadata,
} from '../protocol/index.js';
import { type Connection, isStatusReply } from './connection.js';
import { withContext } from './errors.js';
import type { Content } from './source.js';

export type MetadataMode = 'overwrite' | 'merge';

/** What uploads and regenerate answer: the group and the name the storage chose. */
export interface StoredName {
  readonly group: string;
  readonly remote: string;
}

export interface UploadRequest {
  readonly storePathIndex: number;
  readonly ext: string;
  readonly content: Content;
  readonly appender?: boolean;
}

export interface SlaveRequest {
  readonly master: string;
  readonly prefix: string;
  readonly ext: string;
  readonly content: Content;
}

export interface DownloadRange {
  readonly offset: number;
  /** 0 = through the end of the file. */
  readonly length: number;
}

const id = (group: string, remote: string) => `${group}/${remote}`;

export class StorageClient {
  constructor(readonly conn: Connection) {}

  /** 11 / 23: the storage names the file; `storePathIndex` comes from the tracker's answer. */
  async upload(req: UploadRequest): Promise<StoredName> {
    const cmd = req.appender ? Cmd.UPLOAD_APPENDER_FILE : Cmd.UPLOAD_FILE;
    const action = `${req.appender ? 'upload appender' : 'upload'} of ${req.content.size} bytes`;
    const prefix = encodeUploadPrefix({
      storePathIndex: req.storePathIndex,
      size: req.content.size,
      ext: req.ext,
    });
    return this.run({ action, where: `to ${this.conn.peer}`, notFound: 'not found' }, async () => {
      const h = await this.exchange(action, cmd, prefix, req.content);
      return decodeUploadReply(await this.conn.readBody(h.length));
    });
  }

  /** 21: stored next to the master under the master's name + prefix (+ ext). */
  async uploadSlave(group: string, req: SlaveRequest): Promise<StoredName> {
    const action = `upload slave ${req.prefix} of ${id(group, req.master)}`;
    const fixed = encodeSlavePrefix({
      master: req.master,
      size: req.content.size,
      prefix: req.prefix,
      ext: req.ext,
    });
    return this.run({ action, where: `to ${this.conn.peer}`, fileId: id(group, req.master) }, async () => {
      const h = await this.exchange(action, Cmd.UPLOAD_SLAVE_FILE, fixed, req.content);
      return decodeUploadReply(await this.conn.readBody(h.length));
    });
  }

  /** 12. */
  async delete(group: string, remote: string): Promise<void> {
    await this.control('delete', group, remote, Cmd.DELETE_FILE, encodeGroupAndName(group, remote));
  }

  /** 13: `overwrite` replaces the whole set (an empty one removes it), `merge` updates keys. */
  async setMetadata(group: string, remote: string, meta: Metadata, mode: MetadataMode): Promise<void> {
    const flag = mode === 'merge' ? METADATA_MERGE : METADATA_OVERWRITE;
    const body = encodeSetMetadata({ group, remote, flag, meta: packMetadata(meta) });
    await this.control('set metadata of', group, remote, Cmd.SET_METADATA, body);
  }

  /**
   * 15. FastDFS answers ENOENT both for "no metadata" and for "no such file" and cannot tell them
   * apart, so both give `{}`; use fileInfo() to learn whether the file exists.
   */
  async getMetadata(group: string, remote: string): Promise<Metadata> {
    try {
      const body = await this.control(
        'get metadata of',
        group,
        remote,
        Cmd.GET_METADATA,
        encodeGroupAndName(group, remote),
      );
      return { ...unpackMetadata(body) };
    } catch (err) {
      if (isStatusReply(err) && (err as { status?: number }).status === Status.ENOENT) return {};
      throw err;
    }
  }

  /** 14, first half: sends the request and returns the body length; read it with downloadBody(). */
  async startDownload(group: string, remote: string, range: DownloadRange): Promise<number> {
    const action = `download ${id(group, remote)}`;
    return this.run({ action, where: `from ${this.conn.peer}`, fileId: id(group, remote) }, async () => {
      const h = await this.exchange(action, Cmd.DOWNLOAD_FILE, encodeDownload({ group, remote, ...range }));
      return h.length;
    });
  }

  /** The body announced by startDownload(); the connection is reusable once it is read to the end. */
  downloadBody(group: string, remote: string, length: number): Readable {
    const fileId = id(group, remote);
    return this.conn.bodyStream(length, (err) =>
      withContext(err, { action: `download ${fileId}`, where: `from ${this.conn.peer}`, fileId }),
    );
  }

  /** 22: size, mtime, CRC32 and source IP as the storage sees them. */
  async queryFileInfo(group: string, remote: string): Promise<FileInfoReply> {
    const body = await this.control(
      'query file info of',
      group,
      remote,
      Cmd.QUERY_FILE_INFO,
      encodeGroupAndName(group, remote),
    );
    return this.run(
      { action: `query file info of ${id(group, remote)}`, fileId: id(group, remote) },
      async () => decodeFileInfo(body),
    );
  }

  /** 24: appends to an appender file. */
  async append(group: string, remote: string, content: Content): Promise<void> {
    await this.write(
      'append to',
      group,
      remote,
      Cmd.APPEND_FILE,
      encodeAppendPrefix(remote, content.size),
      content,
    );
  }

  /** 34: overwrites from `offset` (≤ the current size) and may extend the file. */
  async modify(group: string, remote: string, offset: number, content: Content): Promise<void> {
    const fixed = encodeAppendPrefix(remote, content.size, offset);
    await this.write('modify', group, remote, Cmd.MODIFY_FILE, fixed, content);
  }

  /** 36: cuts or extends an appender file to `size`. */
  async truncate(group: string, remote: string, size: number): Promise<void> {
    await this.control('truncate', group, remote, Cmd.TRUNCATE_FILE, encodeTruncate(remote, size));
  }

  /** 38: turns an appender file into a normal one under a new name. */
  async regenerateAppenderFilename(group: string, remote: string): Promise<StoredName> {
    const body = new BodyWriter(Buffer.byteLength(remote)).string(remote).buf;
    const reply = await this.control(
      'regenerate name of',
      group,
      remote,
      Cmd.REGENERATE_APPENDER_FILENAME,
      body,
    );
    return this.run(
      { action: `regenerate name of ${id(group, remote)}`, fileId: id(group, remote) },
      async () => decodeUploadReply(reply),
    );
  }

  /** A command with a control body and a control reply, errors in context. */
  private control(verb: string, group: string, remote: string, cmd: number, body: Buffer): Promise<Buffer> {
    const fileId = id(group, remote);
    const action = `${verb} ${fileId}`;
    return this.run({ action, fileId }, async () => {
      const h = await this.exchange(action, cmd, body);
      return this.conn.readBody(h.length);
    });
  }

  private async write(
    verb: string,
    group: string,
    remote: string,
    cmd: number,
    fixed: Buffer,
    content: Content,
  ) {
    const fileId = id(group, remote);
    const action = `${verb} ${fileId}`;
    await this.run({ action, fileId }, async () => {
      const h = await this.exchange(action, cmd, fixed, content);
      await this.conn.readBody(h.length);
    });
  }

  private async run<T>(
    ctx: { action: string; where?: string; fileId?: string; notFound?: string },
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw withContext(err, { where: `on ${this.conn.peer}`, peer: this.conn.peer, ...ctx });
    }
  }

  /**
   * Sends a request and reads the reply header. With content, the reply is awaited while the
   * content is still going out: a storage may refuse early (ENOSPC, EINVAL), and that status is
   * the error to report, not the broken pipe that follows. A refusal before all content was
   * sent leaves the link out of step, so it is dropped.
   */
  private async exchange(what: string, cmd: number, fixed: Buffer, content?: Content): Promise<Header> {
    if (!content) {
      await this.conn.send(cmd, fixed);
      return this.conn.readHeader(what);
    }
    let sending = true;
    const sent = this.conn.send(cmd, fixed, { size: content.size, stream: content.open() }).then(
      () => undefined,
      (err: unknown) => err ?? new Error('send failed'),
    );
    void sent.finally(() => {
      sending = false;
    });
    try {
      const h = await this.conn.readHeader(what);
      const sendErr = await sent;
      if (sendErr) throw sendErr;
      return h;
    } catch (err) {
      if (isStatusReply(err)) {
        if (sending) this.conn.destroy();
        await sent;
        throw err;
      }
      throw (await sent) ?? err;
    }
  }
}
