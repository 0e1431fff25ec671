/**
 * The one engine, as installed: bundled into dist/bundle/ by `npm run build` (the definition loader's worker
 * included), run by src/bin/gild.js, imported as 'gild' from plain Node; a bundle built from other sources refused
 * with the fix; the TypeScript sources only when asked (GILD_ENGINE=source). The package is built in a temporary
 * copy so that the repository's own dist/ (in use by the other cli tests) is neither read nor touched.
 *
 * Start-up is checked by what is loaded, not by time (timing lives in
 * `npm run bench -- startup`): `--help` and argument errors load no AWS SDK,
 * listr2, handlebars, execa or zod; `resolve` loads the SSM client only.
 */
import { cp, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { imageSource, repoRoot } from '../support/project.ts';
import { writeFsFaultPreload } from '../support/fs-fault-preload.ts';

const recorder = path.join(repoRoot, 'test/support/record-loaded-modules.mjs');
const heavyModules = /\/node_modules\/(@aws-sdk\/[^/]+|listr2|handlebars|execa|zod)\//;
const heavyPackages = ['@aws-sdk/client-ec2', '@aws-sdk/client-auto-scaling', 'listr2', 'handlebars', 'execa', 'zod'];

/**
 * The packages whose code the loaded files of the bundle hold: rolldown heads each module it bundles with a
 * `// node_modules/<package>/…` line, so what a command pays for is read from the files it loaded, whatever the
 * chunks are called.
 */
async function bundledPackages(loaded: readonly string[]): Promise<Set<string>> {
  const packages = new Set<string>();
  for (const module of loaded.filter((file) => file.includes('/dist/bundle/'))) {
    const source = await readFile(module.replace(/^file:\/\//, ''), 'utf8');
    // NOTE: relative to the folder built in; the copy's node_modules is a link to this checkout's, which rolldown
    // follows, so its heads read `// ../…/node_modules/<package>/…`.
    for (const [, name] of source.matchAll(/^\/\/ (?:\S*\/)?node_modules\/((?:@[^/\n]+\/)?[^/\n]+)\//gm)) packages.add(name!);
  }
  return packages;
}

let scratch: string;
let packageDir: string;
let projectDir: string;
let moto: MotoServer;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'gild-compiled-'));
  packageDir = path.join(scratch, 'gild');
  projectDir = path.join(scratch, 'project');
  // The package as npm would lay it out: package.json, src/ (the bin and the sources the bundle is stamped with), and
  // dist/ as `npm pack` ships it, built where the package was packed: this checkout's, which the cli project's global
  // setup built from these very sources (build-bundle.ts). NOTE: copied rather than built again in the copy (two
  // rolldown builds, ~10 CPU-seconds): a bundle is only its files and its stamp, and the copy's gild accepts it only if
  // its stamp names the copy's own sources (the refusal below shows the check is made).
  await mkdir(packageDir, { recursive: true });
  await cp(path.join(repoRoot, 'package.json'), path.join(packageDir, 'package.json'));
  await cp(path.join(repoRoot, 'src'), path.join(packageDir, 'src'), { recursive: true });
  await symlink(path.join(repoRoot, 'node_modules'), path.join(packageDir, 'node_modules'), 'dir');
  await cp(path.join(repoRoot, 'dist'), path.join(packageDir, 'dist'), { recursive: true });
  // An organisation's project that installed it.
  await mkdir(path.join(projectDir, 'node_modules'), { recursive: true });
  await symlink(packageDir, path.join(projectDir, 'node_modules/gild'), 'dir');
  moto = await startMoto();
}, 120_000);

afterAll(async () => {
  await moto?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** Runs a bin with the module recorder; returns its result and every module it loaded. */
async function runRecorded(bin: string, args: readonly string[], env: Record<string, string> = {}) {
  const record = path.join(scratch, `modules-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(record, '');
  const result = await execa(process.execPath, ['--import', recorder, bin, ...args], { cwd: projectDir, env: { ...env, GILD_RECORD_MODULES: record }, extendEnv: true, reject: false });
  const loaded = (await readFile(record, 'utf8')).split('\n').filter(Boolean);
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), loaded };
}

const compiledBin = () => path.join(packageDir, 'src/bin/gild.js');

describe('the compiled engine', () => {
  it('prints --help from dist/ without loading the SDK, listr2, handlebars, execa, zod or jiti', async () => {
    const result = await runRecorded(compiledBin(), ['--help']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('resolve [options] <image>');
    expect(result.loaded).toContainEqual(expect.stringContaining('/gild/dist/bundle/cli.cjs'));
    // commander is bundled (compiled with the code cache like the rest), not loaded from node_modules.
    expect(result.loaded.filter((module) => module.includes('/node_modules/commander/'))).toEqual([]);
    expect(result.loaded.filter((module) => heavyModules.test(module) || module.includes('/node_modules/jiti/'))).toEqual([]);
    expect([...(await bundledPackages(result.loaded))]).toEqual(['commander']);
    // Nor any of gild's own command modules: the bundle files loaded are cli.cjs and what it requires at its top.
    const cli = path.join(packageDir, 'dist/bundle/cli.cjs');
    const staticImports = [...(await readFile(cli, 'utf8')).matchAll(/^const \w+ = require\("\.\/([^"]+)"\);$/gm)].map(([, file]) => path.join(packageDir, 'dist/bundle', file!));
    expect(staticImports.length).toBeGreaterThan(0);
    expect([...new Set(result.loaded.filter((module) => module.includes('/dist/bundle/')).map((module) => module.replace(/^file:\/\//, '')))].sort()).toEqual([cli, ...staticImports].sort());
  });

  it('refuses an unknown flag with exit code 2, loading nothing heavy either', async () => {
    const result = await runRecorded(compiledBin(), ['run', '--no-such-flag']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown option '--no-such-flag'");
    expect(result.loaded.filter((module) => heavyModules.test(module))).toEqual([]);
    expect([...(await bundledPackages(result.loaded))]).toEqual(['commander']);
  });

  it('resolves an image loading the bundled SSM client and nothing else heavy', async () => {
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ssm.send(new PutParameterCommand({ Name: '/golden/web/latest', Value: 'ami-0123456789abcdef0', Type: 'String', DataType: 'aws:ec2:image', Overwrite: true }));
    ssm.destroy();
    const result = await runRecorded(compiledBin(), ['resolve', 'web'], moto.env);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'ami-0123456789abcdef0', stderr: '' });
    // The bundle's SSM commands, not the package's entry point with every command; no EC2, zod, execa or jiti.
    expect(result.loaded.filter((module) => heavyModules.test(module) || module.includes('/node_modules/jiti/'))).toEqual([]);
    const packages = await bundledPackages(result.loaded);
    expect(packages).toContain('@aws-sdk/client-ssm');
    expect(heavyPackages.filter((name) => packages.has(name))).toEqual([]);
  });

  it("gives plain Node `import { resolveImage } from 'gild'`", async () => {
    const script = "import { resolveImage } from 'gild'; const ami = await resolveImage({ image: 'web', region: 'us-east-1', env: process.env }); console.log(ami.amiId, ami.parameterName);";
    const result = await execa(process.execPath, ['--input-type=module', '-e', script], { cwd: projectDir, env: moto.env, extendEnv: true, reject: false });
    // NOTE: stderr may hold the SDK's own Node-version notice: the library leaves the caller's process warnings alone.
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.stdout).toBe('ami-0123456789abcdef0 /golden/web/latest');
  });

  it("loads definitions written in TypeScript in the bundle's own worker, whose `gild` is the bundle: no gild source is loaded", async () => {
    const project = path.join(scratch, 'with-images');
    await cp(path.join(repoRoot, 'templates'), path.join(project, 'templates'), { recursive: true });
    await mkdir(path.join(project, 'images'), { recursive: true });
    await writeFile(path.join(project, 'images/web.ts'), imageSource({ name: 'web' }));
    const record = path.join(scratch, 'modules-validate.txt');
    await writeFile(record, '');
    const result = await execa(process.execPath, ['--import', recorder, compiledBin(), 'validate'], {
      cwd: project,
      reject: false,
      env: { GILD_TYPESCRIPT_CACHE: path.join(scratch, 'jiti-cache'), GILD_RECORD_MODULES: record },
      extendEnv: true,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^1 image definitions are valid/);
    expect(result.exitCode).toBe(0);
    const loaded = (await readFile(record, 'utf8')).split('\n').filter(Boolean);
    // The worker thread runs the bundle's entry (the recorder's --import runs in it too), and gild's own modules come
    // from dist/bundle/ only: the entry point's src/bin/ files aside, nothing under the copy's src/.
    expect(loaded).toContainEqual(expect.stringContaining('/gild/dist/bundle/import-definition-worker.js'));
    expect(loaded).toContainEqual(expect.stringContaining('/gild/dist/bundle/definition-runtime.js'));
    expect(loaded.filter((module) => module.includes('/gild/src/') && !module.includes('/gild/src/bin/'))).toEqual([]);
  });

  it('refuses a bundle built from other sources, naming the fix, and runs nothing of it', async () => {
    const edited = path.join(packageDir, 'src/cleanup.ts');
    const original = await readFile(edited, 'utf8');
    await writeFile(edited, `${original}// an edit after the build\n`);
    try {
      const result = await runRecorded(compiledBin(), ['--help']);
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('was built from other sources than');
      expect(result.stderr).toContain('npm run build');
      expect(result.stderr).toContain('GILD_ENGINE=source');
      expect(result.loaded.filter((module) => module.includes('/dist/bundle/'))).toEqual([]);
    } finally {
      await writeFile(edited, original);
    }
    // The same content again is the same build, whatever the file's modification time says.
    expect((await runRecorded(compiledBin(), ['--help'])).exitCode).toBe(0);
  });

  it('runs on the stamp it checked when a build removes the stamp just after the check', async () => {
    const stamp = path.join(packageDir, 'dist/.built');
    const kept = path.join(scratch, 'stamp-kept');
    // Fault injection: the stamp goes (as `npm run build` removes it first) as soon as it has been read once.
    const removeAfterRead = await writeFsFaultPreload(
      path.join(scratch, 'remove-stamp-after-read.mjs'),
      'readFileSync',
      `  const content = original(file, ...rest);
  if (String(file) === ${JSON.stringify(stamp)}) fs.renameSync(file, ${JSON.stringify(kept)});
  return content;`,
    );
    try {
      const result = await execa(process.execPath, ['--import', removeAfterRead, compiledBin(), '--help'], { cwd: projectDir, reject: false });
      expect(result.stderr).toBe('');
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('resolve [options] <image>');
    } finally {
      await rename(kept, stamp);
    }
  });

  it('refuses a missing bundle and an unknown GILD_ENGINE with the fix', async () => {
    const missing = await runRecorded(compiledBin(), ['--help'], { GILD_ENGINE: 'dist' });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('GILD_ENGINE is "dist", which is not an engine');
    const bare = path.join(scratch, 'unbuilt');
    await mkdir(bare);
    await cp(path.join(packageDir, 'package.json'), path.join(bare, 'package.json'));
    await cp(path.join(packageDir, 'src/bin'), path.join(bare, 'src/bin'), { recursive: true });
    const result = await execa(process.execPath, [path.join(bare, 'src/bin/gild.js'), '--help'], { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/the engine bundle .*cli\.cjs is not built .*npm run build/);
  });
});

describe('the TypeScript sources, when asked (GILD_ENGINE=source)', () => {
  it('print --help without loading the SDK, listr2, handlebars, execa or zod, nor the bundle', async () => {
    const result = await runRecorded(path.join(repoRoot, 'src/bin/gild.js'), ['--help'], { GILD_ENGINE: 'source' });
    expect(result.exitCode).toBe(0);
    expect(result.loaded).toContainEqual(expect.stringContaining('/node_modules/jiti/'));
    expect(result.loaded.filter((module) => heavyModules.test(module) || module.includes('/dist/bundle/'))).toEqual([]);
  });
});
