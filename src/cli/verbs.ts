/** The client verbs `fdfs` dispatches to, and their part of `fdfs --help`. */
import { appendVerb } from './append.js';
import { checkVerb } from './check.js';
import { deleteVerb } from './delete.js';
import { downloadVerb } from './download.js';
import { infoVerb } from './info.js';
import { metaVerb } from './meta.js';
import { monitorVerb } from './monitor.js';
import { uploadVerb } from './upload.js';
import { uploadAppenderVerb } from './upload-appender.js';
import { COMMON_HELP, type Verb } from './verb.js';

const all: readonly Verb[] = [
  uploadVerb,
  uploadAppenderVerb,
  appendVerb,
  downloadVerb,
  deleteVerb,
  infoVerb,
  metaVerb,
  monitorVerb,
  checkVerb,
];

export const clientVerbs: ReadonlyMap<string, Verb> = new Map(all.map((v) => [v.name, v]));

/** FastDFS' own tool names, each the verb it is an alias of (same argument order). */
export const fastdfsAliases = {
  fdfs_upload_file: uploadVerb,
  fdfs_upload_appender: uploadAppenderVerb,
  fdfs_append_file: appendVerb,
  fdfs_download_file: downloadVerb,
  fdfs_delete_file: deleteVerb,
  fdfs_file_info: infoVerb,
  fdfs_monitor: monitorVerb,
} as const;

/** One line per verb for the command list of `fdfs --help`. */
export const clientVerbsSummary = all
  .map((v) => `  ${v.name} ${v.synopsis}\n${' '.repeat(24)}${v.summary}`)
  .join('\n');

/** Every verb's full help, for the end of `fdfs --help`. */
export const clientVerbsHelp = `${all.map((v) => v.help).join('\n\n')}

${COMMON_HELP}

FastDFS tool names (installed as their own commands, same arguments as the verb):
${Object.entries(fastdfsAliases)
  .map(([name, v]) => `  ${name.padEnd(22)} = fdfs ${v.name}`)
  .join('\n')}`;
