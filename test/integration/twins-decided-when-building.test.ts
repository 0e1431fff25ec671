/**
 * On the emulator, `gild run` decides the images' container twins (asking `docker` and `podman`) only once its plan
 * has a build to apply, before its first step: a dry run and `gild plan` stop before (and say so), and a run with
 * nothing to build never asks. PATH shims named `docker`
 * and `podman`, first on PATH, record every call and answer as an engine that is not running (the machine's own
 * engines further on PATH are asked after them, as gild asks every one).
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

describe('gild run asks the container engines about twins only when its plan builds', () => {
  let moto: MotoServer;
  let project: TempProject;
  let shims: string;
  let calls: string;

  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', regions: "{ build: 'us-east-1' }" }) } });
    shims = await mkdtemp(path.join(tmpdir(), 'gild-engine-shims-'));
    calls = path.join(shims, 'calls.log');
    for (const engine of ['docker', 'podman']) {
      const shim = path.join(shims, engine);
      await writeFile(shim, `#!/bin/sh\necho "${engine} $*" >> '${calls}'\necho 'Cannot connect to the ${engine} daemon' >&2\nexit 1\n`);
      await chmod(shim, 0o755);
    }
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
    if (shims) await rm(shims, { recursive: true, force: true });
  });

  const gild = async (args: string[]) => {
    const result = await project.gild(args, { ...moto.env, PATH: `${shims}${path.delimiter}${process.env.PATH ?? ''}` });
    expect(result.stderr + result.stdout).not.toMatch(/internal error|\n\s+at /);
    return result;
  };
  const engineCalls = async () => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean);

  it('a dry run, whose plan builds, asks no engine, and says in one line that twins are decided when the plan is applied', async () => {
    const result = await gild(['run', '--dry-run']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/web: build/);
    expect(result.stdout).toContain('Dry run: nothing was changed.');
    expect(result.stderr.split('\n').filter((line) => line.includes('twins:'))).toEqual([
      'twins: decided when the run applies its plan, not in a dry run (no container engine was asked); the plan has a build step for web',
    ]);
    expect(await engineCalls()).toEqual([]);
  });

  it('gild plan, whose plan builds, asks no engine, and says so in one line, as a dry run does', async () => {
    const result = await gild(['plan']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/web: build/);
    expect(result.stderr.split('\n').filter((line) => line.includes('twins:'))).toEqual([
      'twins: decided when the run applies its plan, not in gild plan (no container engine was asked); the plan has a build step for web',
    ]);
    // --json: stdout is the plan alone; the line is the log's.
    const json = await gild(['plan', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ steps: expect.arrayContaining([expect.objectContaining({ kind: 'build', image: 'web' })]) });
    expect(json.stderr).toMatch(/^twins: decided when the run applies its plan, not in gild plan/m);
    expect(await engineCalls()).toEqual([]);
  });

  it('a run that builds asks them, and the next run, with nothing to build, asks none', async () => {
    const built = await gild(['run']);
    expect(built.exitCode, built.stdout + built.stderr).toBe(0);
    // Its smoke test has no checks: published, and said to be untested.
    expect(built.stdout).toMatch(/⚠ web 1\.0\.0 published UNTESTED: /);
    // What the machine's own engines answer after the shims is theirs; that the run decided is said either way.
    expect(built.stderr).toMatch(/^twins: /m);
    // Decided before the first step starts (the runner's lines for the image begin "web: "), not beside the steps.
    const lines = built.stderr.split('\n');
    const firstStepLine = lines.findIndex((line) => line.startsWith('web: '));
    expect(firstStepLine, built.stderr).toBeGreaterThan(0);
    expect(
      lines.slice(firstStepLine).filter((line) => line.startsWith('twins: ')),
      built.stderr,
    ).toEqual([]);
    const asked = await engineCalls();
    expect(asked).toContain('docker version --format {{json .}}');

    await rm(calls, { force: true });
    const unchanged = await gild(['run']);
    expect(unchanged.exitCode, unchanged.stdout + unchanged.stderr).toBe(0);
    expect(unchanged.stdout).toMatch(/= web 1\.0\.0 unchanged/);
    expect(unchanged.stderr).not.toMatch(/twins:/);
    expect(await engineCalls()).toEqual([]);
  });
});
