/**
 * GitLab pipelines checked by gitlab-ci-local (npm), which validates a
 * pipeline against GitLab's own JSON schema for .gitlab-ci.yml (bundled in
 * it), resolves `include: local` and `extends`, expands `parallel:matrix`, and
 * lists the jobs a pipeline has. Offline: it reads a git checkout and runs no
 * job with `--list`. It uses ES2025's Set methods, which Node 20 lacks; they
 * are given to it from set-methods.mjs beside this file.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './project.ts';

export interface GitLabLint {
  readonly valid: boolean;
  /** The jobs the pipeline has, matrix jobs expanded (`gild-images-1: [7]`). */
  readonly jobs: readonly string[];
  readonly output: string;
}

const cli = path.join(repoRoot, 'node_modules/gitlab-ci-local/dist/index.js');
const setMethods = path.join(repoRoot, 'test/support/set-methods.mjs');

/** Lints `pipeline` (a file's text) in a checkout holding the shipped pipeline/gitlab-ci*.yml, as GitLab would read it there. */
export async function lintGitLabPipeline(pipeline: string): Promise<GitLabLint> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gild-gitlab-'));
  try {
    await mkdir(path.join(dir, 'pipeline'));
    for (const file of ['gitlab-ci.yml', 'gitlab-ci-images.yml']) await cp(path.join(repoRoot, 'pipeline', file), path.join(dir, 'pipeline', file));
    await writeFile(path.join(dir, 'linted.yml'), pipeline);
    // gitlab-ci-local finds local includes among the files git knows.
    await execa('git', ['init', '-q'], { cwd: dir });
    await execa('git', ['add', '-A'], { cwd: dir });
    const result = await execa('node', ['--import', setMethods, cli, '--list', '--file', 'linted.yml'], { cwd: dir, reject: false, all: true, env: { NO_COLOR: '1', FORCE_COLOR: '0' } });
    const output = String(result.all);
    const table = output
      .slice(output.indexOf('\nname ') + 1)
      .split('\n')
      .slice(1);
    const jobs = table.map((line) => /^(\S+(?:: \[[^\]]*\])?)\s{2,}/.exec(line)?.[1]).filter((job): job is string => job !== undefined);
    return { valid: result.exitCode === 0 && output.includes('json schema validated'), jobs, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
