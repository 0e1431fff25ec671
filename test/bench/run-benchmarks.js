#!/usr/bin/env node
// NOTE: like src/bin/gild.js, the benchmarks are TypeScript loaded through
// jiti, so `npm run bench` needs no build step.
import { importTypeScript } from '../../src/bin/load-typescript.js';

const { main } = await importTypeScript(import.meta.url, './run-benchmarks.ts');
process.exitCode = await main(process.argv.slice(2));
