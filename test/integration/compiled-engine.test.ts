/**
 * The engine as installed: compiled to dist/ by `npm run build`, run by
 * src/bin/gild.js, imported as 'gild' from plain Node. The package is built
 * into a temporary copy so that the repository's own dist/ (maybe stale, maybe
 * in use by another test) is neither read nor touched.
 *
 * Start-up is checked by what is loaded, not by time (timing lives in
 * `npm run bench -- startup`): `--help` and argument errors load no AWS SDK,
 * listr2, handlebars, execa or zod; `resolve` loads the SSM client only.
 */
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { imageSource, repoRoot } from '../support/project.ts';

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
    for (const [, name] of source.matchAll(/^\/\/ node_modules\/((?:@[^/\n]+\/)?[^/\n]+)\//gm)) packages.add(name!);
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
  // The package as npm would lay it out: package.json, the bin, and dist/ built from this checkout's src/.
  await mkdir(path.join(packageDir, 'src'), { recursive: true });
  await cp(path.join(repoRoot, 'package.json'), path.join(packageDir, 'package.json'));
  await cp(path.join(repoRoot, 'src/bin'), path.join(packageDir, 'src/bin'), { recursive: true });
  await symlink(path.join(repoRoot, 'node_modules'), path.join(packageDir, 'node_modules'), 'dir');
  await execa(process.execPath, [path.join(repoRoot, 'src/bin/build-engine.js'), '--out-dir', path.join(packageDir, 'dist')]);
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
    expect(result.loaded).toContainEqual(expect.stringContaining('/gild/dist/bundle/cli.js'));
    expect(result.loaded).toContainEqual(expect.stringMatching(/\/node_modules\/commander\//));
    expect(result.loaded.filter((module) => heavyModules.test(module) || module.includes('/node_modules/jiti/'))).toEqual([]);
    expect([...(await bundledPackages(result.loaded))]).toEqual([]);
    // Nor any of gild's own command modules: the bundle files loaded are cli.js and what it imports statically.
    const cli = path.join(packageDir, 'dist/bundle/cli.js');
    const staticImports = [...(await readFile(cli, 'utf8')).matchAll(/^import .* from "\.\/([^"]+)";$/gm)].map(([, file]) => path.join(packageDir, 'dist/bundle', file!));
    expect([...new Set(result.loaded.filter((module) => module.includes('/dist/bundle/')).map((module) => module.replace(/^file:\/\//, '')))].sort()).toEqual([cli, ...staticImports].sort());
  });

  it('refuses an unknown flag with exit code 2, loading nothing heavy either', async () => {
    const result = await runRecorded(compiledBin(), ['run', '--no-such-flag']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("unknown option '--no-such-flag'");
    expect(result.loaded.filter((module) => heavyModules.test(module))).toEqual([]);
    expect([...(await bundledPackages(result.loaded))]).toEqual([]);
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

  it('loads definitions written in TypeScript, whose `gild` is the compiled engine', async () => {
    const project = path.join(scratch, 'with-images');
    await cp(path.join(repoRoot, 'templates'), path.join(project, 'templates'), { recursive: true });
    await mkdir(path.join(project, 'images'), { recursive: true });
    await writeFile(path.join(project, 'images/web.ts'), imageSource({ name: 'web' }));
    const result = await execa(process.execPath, [compiledBin(), 'validate'], { cwd: project, reject: false, env: { GILD_TYPESCRIPT_CACHE: path.join(scratch, 'jiti-cache') }, extendEnv: true });
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^1 image definitions are valid/);
    expect(result.exitCode).toBe(0);
  });
});

describe('the TypeScript sources', () => {
  it('print --help without loading the SDK, listr2, handlebars, execa or zod', async () => {
    const result = await runRecorded(path.join(repoRoot, 'src/bin/gild.js'), ['--help'], { GILD_ENGINE: 'source' });
    expect(result.exitCode).toBe(0);
    expect(result.loaded).toContainEqual(expect.stringContaining('/node_modules/jiti/'));
    expect(result.loaded.filter((module) => heavyModules.test(module))).toEqual([]);
  });
});
