/**
 * Global setup of the `cli` tests: the engine they spawn is the bundle users get (`node src/bin/gild.js`, which runs
 * dist/bundle/ and refuses a stale one), so it is built once before any of them runs, when it is not already a build
 * of the sources as they are (src/bin/engine-bundle.js decides by content).
 */
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './project.ts';

export default async function buildBundleOnce(): Promise<void> {
  await execa(process.execPath, [path.join(repoRoot, 'src/bin/build-engine.js'), '--if-stale'], { stdio: 'inherit' });
}
