#!/usr/bin/env node
// gild's entry point. It runs the engine bundled into dist/bundle/ by `npm ci`
// (the `prepare` script, build-engine.js) when that build is current (see compiled-engine.js), and
// the TypeScript sources through jiti otherwise, so that a checkout runs as
// edited without a rebuild. GILD_ENGINE=source or GILD_ENGINE=dist forces one.
import { existsSync } from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { compiledEngineIsCurrent, packageRoot, projectCacheDir } from './compiled-engine.js';

function useCompiledEngine() {
  switch (process.env.GILD_ENGINE) {
    case 'source':
      return false;
    case 'dist':
      return existsSync(path.join(packageRoot, 'dist', 'bundle', 'cli.js'));
    default:
      return compiledEngineIsCurrent();
  }
}

// NOTE: the AWS SDK warns on every command under Node 20 that its releases from
// January 2027 need Node 22. gild supports Node 20, 22 and 24 (package.json
// engines) and pins the SDK, so the warning is noise in gild's output and
// reports. This is the SDK's documented switch for it; a user who sets the
// variable keeps their choice. Other warnings are left alone.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// NOTE: Node 22.8 and later keep V8's compiled code of the modules between runs (module.enableCompileCache), so that
// the next start compiles nothing it compiled before; Node 20 lacks the API and starts cold. The cache sits with
// jiti's under the project's node_modules/.cache, not in the shared temp folder that CI runners and cleaned machines
// start empty, unless NODE_COMPILE_CACHE names one (NODE_DISABLE_COMPILE_CACHE turns it off).
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE ? undefined : projectCacheDir('node-compile-cache'));
const { main } = useCompiledEngine()
  ? await import('../../dist/bundle/cli.js')
  : await (await import('./load-typescript.js')).importTypeScript(import.meta.url, '../cli.ts');
await main(process.argv.slice(2));
