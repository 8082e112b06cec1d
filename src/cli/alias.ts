/**
 * FastDFS' own tool names (`fdfs_upload_file`, …) as commands: each runs the matching verb with
 * the same arguments, so scripts written for FastDFS run unchanged. Entry files: aliases/*.ts.
 */
import { runVerb } from './verb.js';
import { fastdfsAliases } from './verbs.js';

export type AliasName = keyof typeof fastdfsAliases;

/**
 * FastDFS argument forms the verbs spell differently: `fdfs_monitor <conf> -h <tracker> …` and
 * `-h<tracker>` name the tracker to ask (our `--tracker`); everywhere else `-h` means help.
 */
export function aliasArgs(name: AliasName, argv: readonly string[]): string[] {
  const args = [...argv];
  if (name === 'fdfs_monitor' && args.length > 1 && args[1]?.startsWith('-h') && args[1] !== '-help') {
    const inline = (args[1] ?? '').slice(2);
    if (inline !== '') args.splice(1, 1, '--tracker', inline);
    else if (args.length > 2) args.splice(1, 2, '--tracker', args[2] ?? '');
  }
  return args;
}

export function runAlias(name: AliasName, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  return runVerb(fastdfsAliases[name], aliasArgs(name, argv), name);
}
