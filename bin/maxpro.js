#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Entry point of the `maxpro` command: runs the compiled CLI.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
// The command is done. A request still in flight that nothing waits for (a Kubernetes list
// to an API server that does not answer) must not hold the process: exit if the loop has
// not emptied by itself shortly.
setTimeout(() => process.exit(), 2000).unref();
