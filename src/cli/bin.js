#!/usr/bin/env node
// `npx cardlink …`: the CLI is TypeScript, run through tsx (a dependency), registered in this process.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./program.ts');
await main(process.argv);
