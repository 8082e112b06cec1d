#!/usr/bin/env node
/** `fdfs` entry point: dispatches to one verb; owns exit codes (the FastDFS errno on failure). */
import { FdfsError, statusName } from '../common/index.js';
import { gatewayCommand, gatewayHelp } from './gateway.js';
import { roleCommand, roleHelp } from './roles.js';
import { signCommand, signHelp } from './sign.js';
import { startCommand, startHelp } from './start.js';
import { runVerb, type Verb } from './verb.js';
import { clientVerbs, clientVerbsHelp, clientVerbsSummary } from './verbs.js';

const usage = `fdfs <command> [options]

Commands:
  start                 tracker + storage in one process (what \`npm start\` runs)
  tracker <conf>        run a tracker from a tracker.conf
  storage <conf>        run a storage from a storage.conf
  gateway <http.conf>   run the HTTP gateway alone, in front of a cluster
  sign <fileId>         print a signed download link (offline, from http.conf)
${clientVerbsSummary}

Run \`fdfs <command> --help\` for a command's options.

${startHelp}

${roleHelp}

${gatewayHelp}

${signHelp}

${clientVerbsHelp}
`;

async function main(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'start':
      return startCommand(rest);
    case 'tracker':
    case 'storage':
      return roleCommand(verb, rest);
    case 'gateway':
      return gatewayCommand(rest);
    case 'sign':
      return signCommand(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage);
      return;
    default:
      if (clientVerbs.has(verb)) return runVerb(clientVerbs.get(verb) as Verb, rest, `fdfs ${verb}`);
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
