/** @module Runs the CLI from source (under tsx) for the workflow CLI tests, without a build. */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
