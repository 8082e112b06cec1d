#!/usr/bin/env node
/** `fdfs_upload_file`: FastDFS' tool name for the matching fdfs verb, same arguments (see ../alias.ts). */
import { runAlias } from '../alias.js';

await runAlias('fdfs_upload_file');
