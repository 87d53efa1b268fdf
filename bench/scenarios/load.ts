/** @module The scenarios' client is the project's load generator (src/loadgen/load.ts). */
export * from '../../src/loadgen/load.js';
