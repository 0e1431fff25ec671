#!/usr/bin/env node
// gild's entry point. It runs one engine: the bundle in dist/bundle/, built by `npm ci` (the `prepare` script,
// build-engine.js), and refuses with the fix when that bundle is missing or was built from other sources
// (engine-bundle.js). Running the TypeScript sources as they are is an explicit developer mode: GILD_ENGINE=source,
// or `npm run dev -- <command>`.
import module from 'node:module';
import { bundleProblem } from './engine-bundle.js';
import { projectCacheDir } from './engine-paths.js';

const engine = process.env.GILD_ENGINE || 'bundle';
if (engine !== 'bundle' && engine !== 'source') {
  console.error(`gild: GILD_ENGINE is "${engine}", which is not an engine. Set it to "bundle" (what npm ci builds, the default) or "source" (the TypeScript sources through jiti), or unset it.`);
  process.exit(2);
}
if (engine === 'bundle') {
  const problem = bundleProblem();
  if (problem !== undefined) {
    console.error(problem);
    process.exit(2);
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
const { main } = engine === 'bundle' ? await import('../../dist/bundle/cli.js') : await (await import('./load-typescript.js')).importTypeScript(import.meta.url, '../cli.ts');
await main(process.argv.slice(2));
