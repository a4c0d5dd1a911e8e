#!/usr/bin/env node
// The installed `nakadachi` command: runs the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../gateway/cli.ts');
process.exitCode = await runCli(process.argv.slice(2), process.env);
