#!/usr/bin/env node
// gild's entry point. It runs the engine compiled to dist/ by `npm ci` (the
// `prepare` script) when that build is current (see compiled-engine.js), and
// the TypeScript sources through jiti otherwise, so that a checkout runs as
// edited without a rebuild. GILD_ENGINE=source or GILD_ENGINE=dist forces one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { compiledEngineIsCurrent, packageRoot } from './compiled-engine.js';
import { silenceNodeVersionNotice } from './silence-node-version-notice.js';

function useCompiledEngine() {
  switch (process.env.GILD_ENGINE) {
    case 'source':
      return false;
    case 'dist':
      return existsSync(path.join(packageRoot, 'dist', 'cli.js'));
    default:
      return compiledEngineIsCurrent();
  }
}

silenceNodeVersionNotice();
const { main } = useCompiledEngine()
  ? await import('../../dist/cli.js')
  : await (await import('./load-typescript.js')).importTypeScript(import.meta.url, '../cli.ts');
await main(process.argv.slice(2));
