// `npm run build`, which `npm ci` runs as `prepare`: compiles src/ to dist/
// with tsc (tsconfig.build.json; --noCheck, since `npm test` type-checks),
// bundles the parts of the AWS SDK that the adapters use (below), then stamps
// dist/.built, which src/bin/gild.js compares with the sources.
// Without TypeScript (`npm ci --omit=dev`) it builds nothing and says so:
// gild then runs its .ts sources through jiti, slower to start but the same.
// `--out-dir DIR` builds elsewhere (the compiled-engine test builds a copy).
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from './compiled-engine.js';

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('gild: TypeScript is not installed, so dist/ was not built; gild will run its .ts sources through jiti.');
  process.exit(0);
}
const { values: flags } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
const dist = path.resolve(flags['out-dir'] ?? path.join(packageRoot, 'dist'));
rmSync(dist, { recursive: true, force: true });
const build = spawnSync(process.execPath, [tsc, '-p', path.join(packageRoot, 'tsconfig.build.json'), '--noCheck', '--outDir', dist], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// The definition loader's worker is plain JavaScript that tsc does not copy.
copyFileSync(path.join(packageRoot, 'src', 'definition', 'import-definition-worker.js'), path.join(dist, 'definition', 'import-definition-worker.js'));

// NOTE: each SDK package's entry point is one CommonJS file holding every command of its service (client-ec2: 2.7 MB,
// 0.5 s to load on an idle machine, most of gild's start-up). src/adapters/aws-sdk/ names the exports the adapters use;
// rolldown bundles just those from the packages' ES modules, tree-shaken, with what the services share in common
// chunks, over tsc's re-exporting copies. Measured on the idle 2-core machine: EC2 and SSM together load in 130 ms
// instead of 680 ms beyond `node -e 0`. rolldown is vite's bundler (a devDependency); the bundle is built here, at
// install, never committed.
const { build: bundle } = await import('rolldown');
const sdkSources = path.join(packageRoot, 'src', 'adapters', 'aws-sdk');
const sdkOut = path.join(dist, 'adapters', 'aws-sdk');
await bundle({
  input: Object.fromEntries(readdirSync(sdkSources).filter((name) => name.endsWith('.ts')).map((name) => [name.slice(0, -'.ts'.length), path.join(sdkSources, name)])),
  cwd: packageRoot,
  platform: 'node',
  resolve: { mainFields: ['module', 'main'] },
  logLevel: 'warn',
  output: { dir: sdkOut, format: 'esm', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
});
writeFileSync(path.join(dist, '.built'), `${new Date().toISOString()}\n`);
