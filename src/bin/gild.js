#!/usr/bin/env node
// NOTE: gild's engine and the organisation's images are both TypeScript. jiti
// transpiles them on load (with an on-disk cache), so `npx gild` works straight
// after `npm ci` with no build step and no dist/ folder to keep in sync.
import { createJiti } from 'jiti';

// gild targets Node 20 on purpose; the AWS SDK's notice about its releases
// after January 2027 is for whoever upgrades the SDK, not for each run's output.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).startsWith('NodeVersionSupportWarning')) return;
  return emitWarning.call(process, warning, ...rest);
};

const jiti = createJiti(import.meta.url);
const { main } = await jiti.import('../cli.ts');
await main(process.argv.slice(2));
