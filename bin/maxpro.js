#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Entry point of the `maxpro` command: runs the compiled CLI.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
