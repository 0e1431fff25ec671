/**
 * A throw-away gild project for CLI tests: the shipped templates and pipeline
 * settings, the shipped images or the test's own, and `gild` resolvable from
 * the images as it is for an organisation that installs it.
 */
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const gildBin = path.join(repoRoot, 'src/bin/gild.js');

export interface TempProject {
  readonly dir: string;
  gild(args: readonly string[], env: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  spawn(args: readonly string[], env: Record<string, string>): ResultPromise;
  writeImage(file: string, source: string): Promise<void>;
  remove(): Promise<void>;
}

export async function createTempProject(options: { shippedImages?: boolean; images?: Record<string, string>; settings?: string } = {}): Promise<TempProject> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gild-project-'));
  await cp(path.join(repoRoot, 'templates'), path.join(dir, 'templates'), { recursive: true });
  await cp(path.join(repoRoot, 'pipeline'), path.join(dir, 'pipeline'), { recursive: true });
  if (options.settings) await writeFile(path.join(dir, 'pipeline/settings.ts'), options.settings);
  await mkdir(path.join(dir, 'images'), { recursive: true });
  if (options.shippedImages) await cp(path.join(repoRoot, 'images'), path.join(dir, 'images'), { recursive: true });
  for (const [file, source] of Object.entries(options.images ?? {})) await writeFile(path.join(dir, 'images', file), source);
  await mkdir(path.join(dir, 'node_modules'), { recursive: true });
  await symlink(repoRoot, path.join(dir, 'node_modules', 'gild'), 'dir');
  const spawn = (args: readonly string[], env: Record<string, string>) =>
    // The engine users get (the bundle, built by the cli tests' global setup) unless a test names another.
    execa('node', [gildBin, ...args], { cwd: dir, env: { GILD_ENGINE: 'bundle', ...env, CI: 'true' }, extendEnv: true, reject: false, all: false });
  return {
    dir,
    spawn,
    async gild(args, env) {
      const result = await spawn(args, env);
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    async writeImage(file, source) {
      await writeFile(path.join(dir, 'images', file), source);
    },
    async remove() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A small valid image definition for tests. */
export function imageSource(fields: { name: string; extra?: string; base?: string; version?: string; regions?: string }): string {
  return `import { defineImage } from 'gild';
export default defineImage({
  name: '${fields.name}',
  description: 'test image ${fields.name}',
  version: '${fields.version ?? '1.0.0'}',
  base: ${fields.base ?? "{ preset: 'amazon-linux-2023' }"},
  instanceType: 't3.micro',
  regions: ${fields.regions ?? "{ build: 'us-east-1', copies: ['us-west-2'] }"},
  tags: { owner: 'test', app: '${fields.name}', environment: 'test' },
  ${fields.extra ?? ''}
});
`;
}
