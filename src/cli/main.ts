#!/usr/bin/env node
/**
 * `fdfs` entry point: dispatches to one verb; owns exit codes (the FastDFS errno on failure).
 * Verbs are imported on demand so a client verb does not load the tracker, storage and gateway.
 */
import { FdfsError, statusName } from '../common/index.js';

async function usage(): Promise<string> {
  const [start, roles, gateway, sign, s3, verbs] = await Promise.all([
    import('./start.js'),
    import('./roles.js'),
    import('./gateway.js'),
    import('./sign.js'),
    import('./s3-admin.js'),
    import('./verbs.js'),
  ]);
  return `fdfs <command> [options]

Commands:
  start                 tracker + storage + gateway in one process (what \`npm start\` runs)
  tracker <conf>        run a tracker from a tracker.conf
  storage <conf>        run a storage from a storage.conf (--http-port: with a gateway beside it)
  gateway <http.conf>   run the HTTP gateway alone, in front of a cluster
  sign <fileId>         print a signed download link (offline, from http.conf)
  s3 public <bucket>    let anonymous clients read an S3 bucket (--off: private again)
  s3 gc                 delete the files the S3 namespace released (garbage queue)
  s3 import <bucket>    register the files of a FastDFS group as keys (no bytes copied)
${verbs.clientVerbsSummary}

Run \`fdfs <command> --help\` for a command's options.

${start.startHelp}

${roles.roleHelp}

${gateway.gatewayHelp}

${sign.signHelp}

${s3.s3Help}

${verbs.clientVerbsHelp}
`;
}

async function main(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'start':
      return (await import('./start.js')).startCommand(rest);
    case 'tracker':
    case 'storage':
      return (await import('./roles.js')).roleCommand(verb, rest);
    case 'gateway':
      return (await import('./gateway.js')).gatewayCommand(rest);
    case 'sign':
      return (await import('./sign.js')).signCommand(rest);
    case 's3':
      return (await import('./s3-admin.js')).s3Command(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(await usage());
      return;
    default: {
      const { clientVerbs } = await import('./verbs.js');
      const found = clientVerbs.get(verb);
      if (found) return (await import('./verb.js')).runVerb(found, rest, `fdfs ${verb}`);
      process.stderr.write(`fdfs: unknown command "${verb}"\n\n${await usage()}`);
      process.exitCode = 22;
    }
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof FdfsError) {
    process.stderr.write(`fdfs: ${err.message} (${statusName(err.status)})\n`);
    process.exitCode = err.status || 1;
  } else {
    process.stderr.write(`fdfs: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
});
