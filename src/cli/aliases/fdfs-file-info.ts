#!/usr/bin/env node
/** `fdfs_file_info`: FastDFS' tool name for the matching fdfs verb, same arguments (see ../alias.ts). */
import { runAlias } from '../alias.js';

await runAlias('fdfs_file_info');
