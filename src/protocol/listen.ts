/**
 * listenOn(server, …): `server.listen()` as a promise whose failure is an FdfsError carrying the
 * Linux errno (EADDRINUSE = 98, EADDRNOTAVAIL = 99, EACCES = 13), so `fdfs` can print one line
 * naming the role and the address and exit with that number.
 */
import type { AddressInfo, Server } from 'node:net';
import { FdfsError, Status, toStatus } from '../common/index.js';

export interface ListenTarget {
  /** Who is listening, for the message: `tracker`, `storage`, `gateway`. */
  readonly role: string;
  /** '' or undefined = every interface. */
  readonly host?: string | undefined;
  readonly port: number;
}

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use',
  EADDRNOTAVAIL: 'the address is not one of this machine',
  EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
};

function shown(host: string | undefined, port: number): string {
  const h = host || '0.0.0.0';
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

/** The errno of a failed listen: our table first, then libuv's (negated Linux errno on Linux). */
function errnoOf(err: NodeJS.ErrnoException): number {
  const status = toStatus(err);
  if (status !== Status.EIO) return status;
  return typeof err.errno === 'number' && err.errno < 0 ? -err.errno : Status.EIO;
}

/** Turns an error of `listen()` into the FdfsError `fdfs` reports. */
export function listenError(err: NodeJS.ErrnoException, target: ListenTarget): FdfsError {
  const why = (err.code && REASONS[err.code]) ?? err.message;
  return new FdfsError(
    errnoOf(err),
    `${target.role} cannot listen on ${shown(target.host, target.port)}: ${why}`,
    { cause: err },
  );
}

export function listenOn(server: Server, target: ListenTarget): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => reject(listenError(err, target));
    server.once('error', failed);
    server.listen({ port: target.port, host: target.host || undefined }, () => {
      server.off('error', failed);
      resolve(server.address() as AddressInfo);
    });
  });
}
