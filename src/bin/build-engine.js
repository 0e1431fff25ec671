// `npm run build`, which `npm ci` runs as `prepare`: compiles src/ to dist/
// with tsc (tsconfig.build.json; --noCheck, since `npm test` type-checks),
// bundles the engine into dist/bundle/ (below), then stamps dist/.built,
// which src/bin/gild.js compares with the sources.
// Without TypeScript (`npm ci --omit=dev`) it builds nothing and says so:
// gild then runs its .ts sources through jiti, slower to start but the same.
// `--out-dir DIR` builds elsewhere (the compiled-engine test builds a copy).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from './compiled-engine.js';

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  createRequire(import.meta.url).resolve('rolldown');
} catch {
  console.error('gild: TypeScript or rolldown is not installed (npm ci --omit=dev?), so dist/ was not built; gild will run its .ts sources through jiti.');
  process.exit(0);
}
const { values: flags } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
const dist = path.resolve(flags['out-dir'] ?? path.join(packageRoot, 'dist'));
const bundleDir = path.join(dist, 'bundle');
// NOTE: a folder named by --out-dir is emptied only when it is empty or a finished build (its stamp); dist/ itself
// always is, also after a build that failed halfway.
if (flags['out-dir'] !== undefined && existsSync(dist) && readdirSync(dist).length > 0 && !existsSync(path.join(dist, '.built'))) {
  console.error(`gild: ${dist} exists and is not a finished build (it has no .built stamp), so the build does not empty it. Remove it yourself or build into another folder.`);
  process.exit(2);
}
// The stamp goes first, so that a gild started during the build runs the sources rather than a half-written bundle.
rmSync(path.join(dist, '.built'), { force: true });
// NOTE: tsc's output is replaced whole; the bundle's folder is not emptied (see the pruning below).
for (const entry of existsSync(dist) ? readdirSync(dist) : []) if (entry !== 'bundle') rmSync(path.join(dist, entry), { recursive: true, force: true });
const build = spawnSync(process.execPath, [tsc, '-p', path.join(packageRoot, 'tsconfig.build.json'), '--noCheck', '--outDir', dist], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// The definition loader's worker is plain JavaScript that tsc does not copy.
copyFileSync(path.join(packageRoot, 'src', 'definition', 'import-definition-worker.js'), path.join(dist, 'definition', 'import-definition-worker.js'));

// NOTE: the engine `gild` runs and `import 'gild'` gives is a bundle of src/cli.ts and src/index.ts with their
// dependencies, made by rolldown (vite's bundler, a devDependency), in dist/bundle/: Node then reads, resolves and
// compiles a few dozen files instead of about 500 (tsc's output, zod, execa, listr2, handlebars, and each AWS SDK
// package's entry point, one CommonJS file with every command of its service: 2.7 MB for EC2). The SDK is bundled
// from its ES modules, tree-shaken to the commands the adapters import. Each command stays its own chunk, loaded when
// it runs. jiti stays outside: it loads the organisation's TypeScript at run time. tsc's output beside it serves the
// definition loader's worker thread. Measured side by side (5 interleaved rounds, medians, load ~1 on the 2-core
// machine), a no-op `gild run` over 100 images against moto made its first AWS call 781 ms after starting instead of
// 1,448 ms with tsc's output and the SDK packages as they are (with the definitions fetched ahead, load-definitions.ts).
const { build: bundle } = await import('rolldown');
const bundled = await bundle({
  input: { cli: path.join(packageRoot, 'src', 'cli.ts'), index: path.join(packageRoot, 'src', 'index.ts') },
  cwd: packageRoot,
  platform: 'node',
  external: ['jiti'],
  resolve: { mainFields: ['module', 'main'] },
  logLevel: 'warn',
  output: { dir: bundleDir, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
});
// NOTE: a gild already running loads some chunks late (a command's report writer, the STS credentials when it first
// works in another account), by their content-hashed names: a rebuild during a long run (npm ci in the same checkout)
// must not take them away. Chunks this build did not write are removed once a day old, longer than any run.
const written = new Set(bundled.output.map((file) => file.fileName));
const dayAgo = Date.now() - 24 * 3600_000;
for (const entry of readdirSync(bundleDir, { withFileTypes: true })) {
  const file = path.join(bundleDir, entry.name);
  if (entry.isFile() && !written.has(entry.name) && statSync(file).mtimeMs < dayAgo) rmSync(file);
}
writeFileSync(path.join(dist, '.built'), `${new Date().toISOString()}\n`);
