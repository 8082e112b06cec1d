/** Reads of /proc/<pid>/status for memory figures (Linux). */
import { readFile } from 'node:fs/promises';

/**
 * One read of the status file; the returned function gives a field in kB (VmRSS, VmHWM, RssAnon,
 * RssFile, …), NaN when the field is absent.
 */
export async function procStatusKb(pid: number): Promise<(field: string) => number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
}
