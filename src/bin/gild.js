#!/usr/bin/env node
// NOTE: gild's engine and the organisation's images are both TypeScript. jiti
// transpiles them on load (with an on-disk cache), so `npx gild` works straight
// after `npm ci` with no build step and no dist/ folder to keep in sync.
import { importTypeScript } from './load-typescript.js';

const { main } = await importTypeScript(import.meta.url, '../cli.ts');
await main(process.argv.slice(2));
