#!/usr/bin/env node
// gild's entry point. It runs one engine: the bundle in dist/bundle/, built by `npm ci` (the `prepare` script,
// build-engine.js), and refuses with the fix when that bundle is missing or was built from other sources
// (engine-bundle.js). Running the TypeScript sources as they are is an explicit developer mode: GILD_ENGINE=source,
// or `npm run dev -- <command>`.
import { createHash } from 'node:crypto';
import module from 'node:module';
import { bundlePaths, checkBundle } from './engine-bundle.js';
import { projectCacheDir } from './engine-paths.js';

const engine = process.env.GILD_ENGINE || 'bundle';
if (engine !== 'bundle' && engine !== 'source') {
  console.error(`gild: GILD_ENGINE is "${engine}", which is not an engine. Set it to "bundle" (what npm ci builds, the default) or "source" (the TypeScript sources through jiti), or unset it.`);
  process.exit(2);
}
// NOTE: the stamp is read once, here: a `npm run build` started since removes it first.
const bundle = engine === 'bundle' ? checkBundle() : undefined;
if (bundle?.problem !== undefined) {
  console.error(bundle.problem);
  process.exit(2);
}

// NOTE: the AWS SDK warns on every command under Node 20 that its releases from
// January 2027 need Node 22. gild supports Node 20, 22 and 24 (package.json
// engines) and pins the SDK, so the warning is noise in gild's output and
// reports. This is the SDK's documented switch for it; a user who sets the
// variable keeps their choice. Other warnings are left alone.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// NOTE: V8's compiled code is kept between runs, so that the next start compiles nothing it compiled before. The
// command line's own (the bundle's CommonJS build) on every Node version (compiled-code-cache.js); on Node 22.8 and
// later also the ES modules (module.enableCompileCache: the definition loader's worker, jiti, the sources in developer
// mode). Both sit with jiti's cache under the project's node_modules/.cache, not in the shared temp folder that CI
// runners and cleaned machines start empty, unless NODE_COMPILE_CACHE names Node's; NODE_DISABLE_COMPILE_CACHE turns
// both off.
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE ? undefined : projectCacheDir('node-compile-cache'));
const { cli, bundleDir } = bundlePaths();
const { main } =
  engine === 'source'
    ? await (await import('./load-typescript.js')).importTypeScript(import.meta.url, '../cli.ts')
    : process.env.NODE_DISABLE_COMPILE_CACHE
      ? module.createRequire(cli)(cli)
      : (await import('./compiled-code-cache.js')).requireWithCodeCache(cli, {
          bundleDir,
          cacheRoot: projectCacheDir('gild-code-cache'),
          // A folder per build: the stamp names when it was built and from which sources.
          generation: createHash('sha256').update(bundle.stamp).digest('hex').slice(0, 16),
          // Entries settle by command (its first word): each command loads and calls its own part of the bundle. A help
          // run, whatever its command, calls none of it: its own bucket.
          command: process.argv.slice(2).some((arg) => arg === '-h' || arg === '--help') ? '' : (process.argv.slice(2).find((arg) => !arg.startsWith('-')) ?? ''),
        });
await main(process.argv.slice(2));
