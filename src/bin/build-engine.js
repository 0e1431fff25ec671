// `npm run build`, which `npm ci` runs as `prepare`: compiles src/ to dist/
// with tsc (tsconfig.build.json; --noCheck, since `npm test` type-checks),
// then stamps dist/.built, which src/bin/gild.js compares with the sources.
// Without TypeScript (`npm ci --omit=dev`) it builds nothing and says so:
// gild then runs its .ts sources through jiti, slower to start but the same.
import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from './compiled-engine.js';

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('gild: TypeScript is not installed, so dist/ was not built; gild will run its .ts sources through jiti.');
  process.exit(0);
}
const dist = path.join(packageRoot, 'dist');
rmSync(dist, { recursive: true, force: true });
const build = spawnSync(process.execPath, [tsc, '-p', path.join(packageRoot, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// The definition loader's worker is plain JavaScript that tsc does not copy.
copyFileSync(path.join(packageRoot, 'src', 'definition', 'import-definition-worker.js'), path.join(dist, 'definition', 'import-definition-worker.js'));
writeFileSync(path.join(dist, '.built'), `${new Date().toISOString()}\n`);
