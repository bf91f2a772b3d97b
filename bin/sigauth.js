#!/usr/bin/env node
// `sigauth <command>` (package.json "bin", `npx sigauth` in this folder): the built CLI as it is.
// `npm run cli -- <command>` is the same, after building when src/ changed since the last build.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('error: sigauth is not built: run `npm run build` first\n');
  process.exit(1);
}
await import(entry.href);
