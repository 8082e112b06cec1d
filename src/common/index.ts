export * from './atomic-file.js';
export * from './crc32.js';
export * from './errors.js';
export * from './logger.js';
