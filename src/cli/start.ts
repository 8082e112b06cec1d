/** `fdfs start`: tracker + storage + HTTP gateway in one process, data under ./data. */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createLogger } from '../common/index.js';
import { defaultStorageConfig, defaultTrackerConfig, keysOf } from '../config/index.js';
import { startStorage } from '../storage/index.js';
import { overridesOf, parse, portOf } from './args.js';
import { budgetFor, capped } from './fd-budget.js';
import { startEmbeddedGateway } from './gateway.js';
import { acquirePidFile } from './pidfile.js';
import { runUntilSignal, Startup } from './run.js';
import { S3_DEFAULT_PORT } from './s3.js';
import { startTrackerThread, type TrackerThread } from './tracker-thread.js';
import { assertKnownStartKeys } from './unknown-keys.js';

export const startHelp = `fdfs start [options]
  Runs a tracker and a storage in one process (the embedded default; the tracker on its own thread).
  --base-path DIR     data folder (default ./data): DIR/tracker, DIR/storage
  --bind IP           address to listen on (default 127.0.0.1)
  --tracker-port N    tracker port (default 22122; 0 = any free port)
  --tracker HOST:PORT join this existing tracker instead of running one (repeatable)
  --storage-port N    storage port (default 23000; 0 = any free port)
  --http-port N       gateway port (default 8080; 0 = any free port)
  --s3-port N         S3 API port (default 9000; 0 = any free port; --set s3.server_port= for none)
  --group NAME        storage group (default group1)
  --storage-id ID     the storage's server_id (for trackers with use_storage_id)
  --advertise IP      address the storage reports to trackers and puts in file ids
  --set key=value     override any tracker.conf / storage.conf / http.conf key (repeatable)
Example: fdfs start --base-path /tmp/fdfs --tracker-port 0 --storage-port 0
Example: fdfs start --tracker 10.0.0.1:22122 --group group2 --bind 10.0.0.2   (a second machine)`;

/** Routes each --set key to every role whose conf defines it. */
function split(sets: Map<string, string[]>, role: 'tracker' | 'storage'): Map<string, string[]> {
  const keys = keysOf(role);
  return new Map([...sets].filter(([k]) => keys.has(k)));
}

export async function startCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    'base-path': { type: 'string' },
    bind: { type: 'string' },
    'tracker-port': { type: 'string' },
    tracker: { type: 'string', multiple: true },
    'storage-port': { type: 'string' },
    'http-port': { type: 'string' },
    's3-port': { type: 'string' },
    group: { type: 'string' },
    'storage-id': { type: 'string' },
    advertise: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(`${startHelp}\n`);
    return;
  }
  const sets = overridesOf(values.set as string[] | undefined);
  const s3Port = portOf(values['s3-port'], '--s3-port');
  if (s3Port !== undefined) sets.set('s3.server_port', [String(s3Port)]);
  else if (!sets.has('s3.server_port')) sets.set('s3.server_port', [String(S3_DEFAULT_PORT)]);
  // Before anything listens: a misspelt security key refuses, any other unknown key warns.
  const keyWarnings = await assertKnownStartKeys(sets, ['tracker', 'storage', 'http']);
  const base = resolve((values['base-path'] as string | undefined) ?? 'data');
  const bind = (values.bind as string | undefined) ?? '127.0.0.1';
  const trackerPort = portOf(values['tracker-port'], '--tracker-port') ?? 22122;
  const storagePort = portOf(values['storage-port'], '--storage-port') ?? 23000;
  await mkdir(base, { recursive: true });

  const tOver = split(sets, 'tracker');
  tOver.set('base_path', [join(base, 'tracker')]);
  tOver.set('bind_addr', [bind]);
  tOver.set('port', [String(trackerPort)]);
  const tracker = defaultTrackerConfig(tOver);
  const logger = createLogger({ level: tracker.config.logLevel });
  for (const w of [...keyWarnings, ...tracker.warnings]) logger.warn(w);
  // With --tracker this instance joins an existing cluster: storage + gateway, no tracker.
  const joinTrackers = (values.tracker as string[] | undefined) ?? [];
  const budget = await budgetFor(logger, { http: true, nativePorts: joinTrackers.length === 0 ? 2 : 1 });
  const startup = new Startup(logger);
  const { storageNode, gateway, trackers } = await startup.run(async () => {
    startup.add('pid file', { close: await acquirePidFile(join(base, 'fdfs.pid')) });
    let trackerNode: TrackerThread | undefined;
    if (joinTrackers.length === 0) {
      await mkdir(tracker.config.basePath, { recursive: true });
      trackerNode = startup.add('tracker', await startTrackerThread(capped(tracker.config, budget)));
    }
    const trackers = trackerNode
      ? [`${bind === '0.0.0.0' ? '127.0.0.1' : bind}:${trackerNode.address.port}`]
      : joinTrackers;

    const sOver = split(sets, 'storage');
    sOver.set('base_path', [join(base, 'storage')]);
    if (!sOver.has('store_path0')) sOver.set('store_path0', [join(base, 'storage')]);
    sOver.set('bind_addr', [bind]);
    sOver.set('port', [String(storagePort)]);
    if (values.group) sOver.set('group_name', [values.group as string]);
    if (values['storage-id']) sOver.set('server_id', [values['storage-id'] as string]);
    if (values.advertise) sOver.set('advertise_addr', [values.advertise as string]);
    sOver.set('tracker_server', trackers);
    const storage = defaultStorageConfig(sOver);
    for (const w of storage.warnings) logger.warn(w);
    await mkdir(storage.config.basePath, { recursive: true });
    const storageNode = startup.add(
      'storage',
      await startStorage(capped(storage.config, budget), { logger }),
    );

    const gateway = startup.add(
      'gateway',
      await startEmbeddedGateway({
        sets,
        bind,
        port: portOf(values['http-port'], '--http-port') ?? 8080,
        base,
        trackers,
        engine: storageNode.engine,
        counters: storageNode.counters,
        logger,
        ...(budget ? { maxConnections: budget.http } : {}),
        makeS3Credential: true,
        binlogDir: join(base, 'storage', 'data', 'sync'),
        announce: (line: string) => process.stdout.write(`${line}\n`),
      }),
    );
    return { storageNode, gateway, trackers };
  });
  const http = `${gateway.address.host}:${gateway.address.port}`;
  const s3 = gateway.s3 ? ` s3=${gateway.s3.address.host}:${gateway.s3.address.port}` : '';
  const ready = `fdfs ready tracker=${trackers[0]} storage=${bind}:${storageNode.address.port} http=${http}${s3} base=${base}`;
  await runUntilSignal(logger, ready, () => startup.closeAll());
}
