// `npm run build`, which `npm ci` runs as `prepare`: bundles the engine into dist/bundle/ with rolldown (vite's
// bundler) and stamps dist/.built with a digest of the sources it was built from (engine-bundle.js), the one engine
// src/bin/gild.js runs. `--out-dir DIR` builds elsewhere (the compiled-engine test builds a copy); `--if-stale`
// builds only when the bundle is not a build of the current sources (the test suite's global setup).
// Without rolldown (`npm ci --omit=dev`) it builds nothing and says so; gild then refuses to start until it is built
// or told to run the sources (GILD_ENGINE=source).
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundlePaths, bundleProblem, sourceDigest, stampText } from './engine-bundle.js';
import { packageRoot } from './engine-paths.js';

try {
  createRequire(import.meta.url).resolve('rolldown');
} catch {
  console.error(
    'gild: rolldown is not installed (npm ci --omit=dev?), so the engine bundle was not built: install the dev dependencies and run `npm run build`, or run the sources with GILD_ENGINE=source.',
  );
  process.exit(0);
}
const { values: flags } = parseArgs({ options: { 'out-dir': { type: 'string' }, 'if-stale': { type: 'boolean' } } });
const dist = path.resolve(flags['out-dir'] ?? path.join(packageRoot, 'dist'));
const { bundleDir, stamp } = bundlePaths(dist);
if (flags['if-stale'] && bundleProblem(dist) === undefined) process.exit(0);
// NOTE: a folder named by --out-dir is emptied only when it is empty or a finished build (its stamp); dist/ itself
// always is, also after a build that failed halfway.
if (flags['out-dir'] !== undefined && existsSync(dist) && readdirSync(dist).length > 0 && !existsSync(stamp)) {
  console.error(`gild: ${dist} exists and is not a finished build (it has no .built stamp), so the build does not empty it. Remove it yourself or build into another folder.`);
  process.exit(2);
}
// The stamp goes first, so that a gild started during the build refuses rather than runs a half-written bundle.
rmSync(stamp, { force: true });
// Taken before bundling: a source edited while the build runs leaves the bundle stale, never wrongly current.
const digest = sourceDigest();
// NOTE: earlier builds also compiled src/ with tsc into dist/ for the definition worker; the bundle now holds the
// worker, so that output is removed rather than left to be mistaken for an engine.
for (const entry of existsSync(dist) ? readdirSync(dist) : []) if (entry !== 'bundle') rmSync(path.join(dist, entry), { recursive: true, force: true });

// NOTE: the engine `gild` runs and `import 'gild'` gives is a bundle of src/cli.ts and src/index.ts with their
// dependencies: Node then reads, resolves and compiles a few dozen files instead of about 500 (gild's modules, zod,
// execa, listr2, handlebars, and each AWS SDK package's entry point, one CommonJS file with every command of its
// service: 2.7 MB for EC2). The SDK is bundled from its ES modules, tree-shaken to the commands the adapters import.
// Each command stays its own chunk, loaded when it runs. jiti stays outside: it loads the organisation's TypeScript at
// run time. The definition loader's worker thread (src/definition/import-isolated.ts) is an entry of its own, found
// beside the chunks as ./import-definition-worker.js, with the two modules it loads through jiti under fixed names.
// Measured side by side (5 interleaved rounds, medians, load ~1 on the 2-core machine), a no-op `gild run` over 100
// images against moto made its first AWS call 781 ms after starting instead of 1,448 ms with tsc's output and the SDK
// packages as they are (with the definitions fetched ahead, load-definitions.ts).
//
// NOTE: two builds. The command line `gild` runs is CommonJS (cli.cjs and its chunks, *.cjs), which src/bin/gild.js
// compiles with V8's code cache kept between runs (compiled-code-cache.js): Node 20 offers that cache for scripts
// only, not for ES modules. What Node loads as ES modules stays ES modules: `import 'gild'` (index.js) and the worker
// with the two modules it loads (its top-level await included). Node's built-in modules are external, so that their
// dynamic imports become require calls in the CommonJS build (dynamicImportInCjs): an import() in a script compiled
// by vm.Script has a loader to import with from Node 20.12 on (vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER, which
// compiled-code-cache.js passes), none on the Node 20 releases before it that package.json's engines allow ("A dynamic
// import callback was not specified"), and Node 20's V8 loses it in code compiled from cached data (so the cache
// compiles a file that calls import() from its source every time). The build refuses to leave one in.
const { build: bundle } = await import('rolldown');
const source = (file) => path.join(packageRoot, 'src', file);
const options = { cwd: packageRoot, platform: 'node', external: ['jiti', /^node:/], resolve: { mainFields: ['module', 'main'] }, logLevel: 'warn' };
const modules = await bundle({
  ...options,
  input: {
    index: source('index.ts'),
    'import-definition-worker': source('definition/import-definition-worker.js'),
    'read-plain-data': source('definition/read-plain-data.ts'),
    'definition-runtime': source('definition/definition-runtime.ts'),
  },
  output: { dir: bundleDir, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
});
const commandLine = await bundle({
  ...options,
  input: { cli: source('cli.ts') },
  output: { dir: bundleDir, format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: '[name]-[hash].cjs', dynamicImportInCjs: false },
});
// NOTE: found in the syntax tree, so that comments (a bundled package's JSDoc names types as import("./file.js")) and
// strings do not count, and an import() of a computed specifier or with a comment before its parenthesis does; the
// few files that have the word `import` at all are parsed (8 of 150, 0.5 of 4 MB).
const { parseAst } = await import('rolldown/parseAst');
const holdsImportCall = (node) =>
  node !== null && typeof node === 'object' && (node.type === 'ImportExpression' || (Array.isArray(node) ? node.some(holdsImportCall) : Object.values(node).some(holdsImportCall)));
const dynamicImports = commandLine.output
  .filter((file) => file.type === 'chunk' && /\bimport\b/.test(file.code) && holdsImportCall(parseAst(file.code, { sourceType: 'commonjs' }, file.fileName)))
  .map((file) => file.fileName);
if (dynamicImports.length > 0) {
  console.error(
    `gild: the command line's CommonJS build kept an import() in ${dynamicImports.join(', ')}, which fails when compiled with the code cache on Node 20: make what it imports external, or bundle it.`,
  );
  process.exit(1);
}
// NOTE: a gild already running loads some chunks late (a command's report writer, the STS credentials when it first
// works in another account), by their content-hashed names: a rebuild during a long run (npm ci in the same checkout)
// must not take them away. Chunks this build did not write are removed once a day old, longer than any run.
const written = new Set([...modules.output, ...commandLine.output].map((file) => file.fileName));
const dayAgo = Date.now() - 24 * 3600_000;
for (const entry of readdirSync(bundleDir, { withFileTypes: true })) {
  const file = path.join(bundleDir, entry.name);
  if (entry.isFile() && !written.has(entry.name) && statSync(file).mtimeMs < dayAgo) rmSync(file);
}
writeFileSync(stamp, stampText(digest));
