#!/usr/bin/env node
/** `fdfs` entry point: dispatches to one verb; owns exit codes (the FastDFS errno on failure). */
import { FdfsError, statusName } from '../common/index.js';
import { roleCommand, roleHelp } from './roles.js';
import { startCommand, startHelp } from './start.js';

const usage = `fdfs <command> [options]

Commands:
  start                 tracker + storage in one process (what \`npm start\` runs)
  tracker <conf>        run a tracker from a tracker.conf
  storage <conf>        run a storage from a storage.conf

Run \`fdfs <command> --help\` for a command's options.

${startHelp}

${roleHelp}
`;

async function main(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'start':
      return startCommand(rest);
    case 'tracker':
    case 'storage':
      return roleCommand(verb, rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage);
      return;
    default:
      process.stderr.write(`fdfs: unknown command "${verb}"\n\n${usage}`);
      process.exitCode = 22;
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
