#!/usr/bin/env node
// gild's entry point. It runs the engine compiled to dist/ by `npm ci` (the
// `prepare` script) when that build is current, and the TypeScript sources
// through jiti otherwise, so that a checkout works straight after an edit
// without a rebuild. GILD_ENGINE=source or GILD_ENGINE=dist forces one.
//
// NOTE: "current" is decided by modification times, which costs one stat per
// source file (~1 ms): dist/.built, written when a build succeeds, must be no
// older than every file under src/. A build that failed halfway writes no
// stamp. npm's tarballs give every file the same time, so an installed
// package counts as current.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { silenceNodeVersionNotice } from './silence-node-version-notice.js';

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

function compiledEngineIsCurrent() {
  const choice = process.env.GILD_ENGINE;
  if (choice === 'source') return false;
  let builtAt;
  try {
    builtAt = statSync(path.join(packageRoot, 'dist', '.built')).mtimeMs;
  } catch {
    return false;
  }
  if (choice === 'dist') return true;
  const sources = path.join(packageRoot, 'src');
  for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts') && statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs > builtAt) return false;
  }
  return true;
}

silenceNodeVersionNotice();
const { main } = compiledEngineIsCurrent()
  ? await import('../../dist/cli.js')
  : await (await import('./load-typescript.js')).importTypeScript(import.meta.url, '../cli.ts');
await main(process.argv.slice(2));
