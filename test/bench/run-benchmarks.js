#!/usr/bin/env node
// NOTE: like src/bin/gild.js, the benchmarks are TypeScript loaded through
// jiti, so `npm run bench` needs no build step.
import { createJiti } from 'jiti';

// The AWS SDK's Node 20 support notice is noise in a benchmark table.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).startsWith('NodeVersionSupportWarning')) return;
  return emitWarning.call(process, warning, ...rest);
};

const jiti = createJiti(import.meta.url);
const { main } = await jiti.import('./run-benchmarks.ts');
process.exitCode = await main();
