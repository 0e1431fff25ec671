/**
 * The run report through the real CLI against moto and real Packer: a run
 * with a published, an unchanged, a failed (smoke check failed, injected by
 * the fault proxy since moto runs nothing) and a skipped image writes a
 * report.json that matches its schema, report.md, and appends the Markdown to
 * the GitHub step summary; `--json` puts only the report on stdout. A
 * lifecycle command's failure is reported the same way, and a fleet's jobs'
 * reports merge into one (`gild report merge`).
 */
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReportSchema } from '../../src/report/report-schema.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource } from '../support/project.ts';

describe('gild run writes a run report', () => {
  const emulator = useMotoBehindFaultProxy();

  it('reports a published, an unchanged, a failed and a skipped image, in report.json, report.md and the step summary', async () => {
    const project = await createTempProject({
      images: {
        'steady.ts': imageSource({ name: 'steady' }),
        'fresh.ts': imageSource({ name: 'fresh', extra: "smoke: { checks: [{ name: 'nginx answers', run: 'curl -fsS localhost' }] }," }),
        'base.ts': imageSource({ name: 'base', extra: "smoke: { checks: [{ name: 'kernel is patched', run: 'check-kernel FAIL-ME' }] }," }),
        'app.ts': imageSource({ name: 'app', base: "{ image: 'base' }" }),
      },
    });
    const summaryDir = await mkdtemp(path.join(tmpdir(), 'gild-summary-'));
    const stepSummary = path.join(summaryDir, 'summary.md');
    await writeFile(stepSummary, '## an earlier step\n');
    try {
      const env = emulator.proxy.env(emulator.moto.env);
      expect((await project.gild(['run', 'steady'], env)).exitCode).toBe(0);
      emulator.proxy.setRules({ commands: [{ marker: 'FAIL-ME', status: 'Failed', exitCode: 3, stderr: 'kernel 5.10 is vulnerable' }] });

      const result = await project.gild(['run', '--json'], { ...env, GILD_SMOKE_POLL_MS: '100', GITHUB_STEP_SUMMARY: stepSummary });

      expect(result.exitCode).toBe(1);
      const printed = runReportSchema.parse(JSON.parse(result.stdout));
      expect(result.stderr).toMatch(/Report: \.gild\/runs\/.+\/report\.md/);
      const runDir = path.join(project.dir, '.gild/runs', printed.runId);
      const report = runReportSchema.parse(JSON.parse(await readFile(path.join(runDir, 'report.json'), 'utf8')));
      expect(report).toEqual(printed);
      expect(report.result).toBe('failed');
      expect(report.counts).toEqual({ published: 1, unchanged: 1, failed: 1, skipped: 1 });
      const byImage = Object.fromEntries(report.images.map((image) => [image.image, image]));

      const fresh = byImage.fresh!;
      expect(fresh).toMatchObject({ result: 'published', action: 'build', version: '1.0.0', stageReached: 'publish' });
      expect(Object.keys(fresh.amis).sort()).toEqual(['us-east-1', 'us-west-2']);
      // gild's new-machine checks come first; moto's Run Command answers nothing and its builds record nothing, so
      // they are not-verified, which the report says rather than passing them.
      const notVerified = (name: string) => ({ name: `new machine: ${name}`, outcome: 'not-verified', reason: expect.stringContaining('gild has no record of the build instance') });
      expect(fresh.smoke).toMatchObject({
        result: 'passed',
        region: 'us-east-1',
        checks: [
          notVerified("SSH host keys differ from the build instance's"),
          notVerified('no key from the build in any authorized_keys'),
          notVerified("machine-id differs from the build instance's"),
          { name: 'nginx answers', outcome: 'passed', exitCode: 0 },
        ],
      });
      expect(fresh.parametersWritten.map((write) => `${write.region} ${write.name}`).sort()).toEqual([
        'us-east-1 /golden/fresh/latest',
        'us-east-1 /golden/fresh/v1',
        'us-east-1 /golden/fresh/versions/1.0.0',
        'us-west-2 /golden/fresh/latest',
        'us-west-2 /golden/fresh/v1',
        'us-west-2 /golden/fresh/versions/1.0.0',
      ]);
      expect(fresh.parametersWritten.every((write) => write.value === fresh.amis[write.region])).toBe(true);
      expect(fresh.steps.filter((step) => step.status === 'done').every((step) => typeof step.durationMs === 'number')).toBe(true);

      expect(byImage.steady).toMatchObject({ result: 'unchanged', action: 'unchanged', version: '1.0.0' });

      const failure = byImage.base!.failure!;
      expect(byImage.base).toMatchObject({ result: 'failed', stageReached: 'build', version: '1.0.0' });
      expect(failure.stage).toBe('smoke');
      expect(failure.message).toMatch(/kernel is patched/);
      expect(failure.reproduce).toBe('npx gild run base --local --force');
      expect(failure.logFile).toMatch(/^\.gild\/runs\/.+\/base\.log$/);
      expect(failure.logTail.join('\n')).toContain('kernel 5.10 is vulnerable');
      expect(byImage.base!.smoke!.checks.find((check) => check.name === 'kernel is patched')).toMatchObject({ outcome: 'failed', exitCode: 3, stderrExcerpt: 'kernel 5.10 is vulnerable' });

      expect(byImage.app).toMatchObject({ result: 'skipped', resultReason: expect.stringMatching(/its base image "base" was not published/) });

      const markdown = await readFile(path.join(runDir, 'report.md'), 'utf8');
      expect(markdown).toContain(`## gild run \`${report.runId}\`: failed`);
      expect(markdown).toContain("- – not-verified: new machine: SSH host keys differ from the build instance's on t3.micro");
      expect(markdown).toContain('Reproduce locally (against a moto emulator gild starts): `npx gild run base --local --force`');
      expect(await readFile(stepSummary, 'utf8')).toBe(`## an earlier step\n${markdown}\n`);
    } finally {
      await project.remove();
      await rm(summaryDir, { recursive: true, force: true });
    }
  });

  it('reports a lifecycle command that failed: the stage, the whole error with its causes, and the command that retries it', async () => {
    const project = await createTempProject({ images: { 'api.ts': imageSource({ name: 'api' }) } });
    const summaryDir = await mkdtemp(path.join(tmpdir(), 'gild-summary-'));
    const stepSummary = path.join(summaryDir, 'summary.md');
    try {
      const env = emulator.proxy.env(emulator.moto.env);
      expect((await project.gild(['run'], { ...env, GILD_SMOKE_POLL_MS: '100' })).exitCode).toBe(0);
      // Every SSM write fails as AWS fails when it is down: the lock cannot be taken, so nothing moves.
      emulator.proxy.setRules({ serverErrors: { ssm: { first: 1000, maxConsecutive: 1000, actions: ['PutParameter'] } } });

      const result = await project.gild(['promote', 'api', '--to', 'stable', '--json'], { ...env, GITHUB_STEP_SUMMARY: stepSummary });

      expect(result.exitCode, result.stderr).toBe(1);
      expect(result.stderr).not.toMatch(/internal error/);
      const report = runReportSchema.parse(JSON.parse(result.stdout));
      expect(report).toMatchObject({ commandName: 'promote', command: 'gild promote api --to stable --json', result: 'failed', counts: { failed: 1 } });
      const [api] = report.images;
      expect(api).toMatchObject({ image: 'api', action: 'change', result: 'failed', pointersMoved: [], holds: [] });
      expect(api!.steps.map((step) => `${step.kind} ${step.status}`)).toEqual(['lock failed', 'repoint skipped', 'release skipped']);
      const failure = api!.failure!;
      expect(failure).toMatchObject({ stage: 'lock', reproduce: 'npx gild promote api --to stable' });
      expect(failure.message).toMatch(/\/golden\/api\/lock/);
      expect(failure.causes.map((cause) => cause.name)).toContain('InternalServerError');
      expect(failure.logTail.length).toBeGreaterThan(0);
      const markdown = await readFile(path.join(project.dir, '.gild/runs', report.runId, 'report.md'), 'utf8');
      expect(markdown).toContain(`## gild promote \`${report.runId}\`: failed`);
      expect(markdown).toContain('`npx gild promote api --to stable`');
      expect(await readFile(stepSummary, 'utf8')).toBe(`${markdown}\n`);
    } finally {
      await project.remove();
      await rm(summaryDir, { recursive: true, force: true });
    }
  });

  it("merges a fleet's job reports into one report of the plan's run, naming the image whose job left none", async () => {
    const project = await createTempProject({
      images: { 'base.ts': imageSource({ name: 'base' }), 'app.ts': imageSource({ name: 'app', base: "{ image: 'base' }" }), 'tool.ts': imageSource({ name: 'tool' }) },
    });
    try {
      const env = { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100' };
      const planned = await project.gild(['plan', '--json'], env);
      expect(planned.exitCode, planned.stderr).toBe(0);
      await writeFile(path.join(project.dir, 'plan.json'), planned.stdout);
      const { runId } = JSON.parse(planned.stdout) as { runId: string };
      const matrix = JSON.parse((await project.gild(['plan', '--matrix', '--from', 'plan.json', '--per-job', '1'], env)).stdout) as { matrices: { include: { images: string }[] }[] };
      expect(matrix.matrices.map((jobs) => jobs.include.map((entry) => entry.images))).toEqual([['base', 'tool', 'app']]);
      // Each CI job has its own workspace and uploads its .gild/runs/; here the jobs share one, so each report is
      // copied away as its artifact before the next job writes its own. tool's job never finishes.
      for (const image of ['base', 'app']) {
        const job = await project.gild(['run', image, '--plan', 'plan.json'], env);
        expect(job.exitCode, job.stdout + job.stderr).toBe(0);
        await cp(path.join(project.dir, '.gild/runs', runId, 'report.json'), path.join(project.dir, 'reports', `gild-report-${image}`, runId, 'report.json'));
      }

      const merged = await project.gild(['report', 'merge', 'reports', '--plan', 'plan.json', '--out', 'fleet-report', '--json'], env);

      expect(merged.exitCode, merged.stderr).toBe(1);
      const report = runReportSchema.parse(JSON.parse(merged.stdout));
      expect(report).toMatchObject({ runId, commandName: 'merge', result: 'failed', counts: { published: 2, missing: 1 }, missing: [{ image: 'tool', reason: 'no report: job did not finish' }] });
      expect(report.images.map((image) => `${image.image} ${image.result} ${image.version}`)).toEqual(['app published 1.0.0', 'base published 1.0.0']);
      expect(report.jobs!.map((job) => [job.file, job.images])).toEqual([
        [`reports/gild-report-app/${runId}/report.json`, ['app']],
        [`reports/gild-report-base/${runId}/report.json`, ['base']],
      ]);
      expect(await readFile(path.join(project.dir, 'fleet-report/report.md'), 'utf8')).toContain('- tool: no report: job did not finish');
      expect(merged.stderr).toContain('gild: the fleet run failed: tool (no report); see fleet-report/report.md');

      // Merged again into the same folder: its own report is replaced. A folder holding someone's report.md is not.
      expect((await project.gild(['report', 'merge', 'reports', '--plan', 'plan.json', '--out', 'fleet-report'], env)).exitCode).toBe(1);
      await mkdir(path.join(project.dir, 'notes'));
      await writeFile(path.join(project.dir, 'notes/report.md'), 'my own notes\n');
      const overwrite = await project.gild(['report', 'merge', 'reports', '--plan', 'plan.json', '--out', 'notes'], env);
      expect(overwrite.exitCode, overwrite.stderr).toBe(2);
      expect(overwrite.stderr).toContain(`--out notes: ${path.join(project.dir, 'notes')} already holds report.md, with no gild report.json beside it, so gild will not replace it`);
      expect(await readFile(path.join(project.dir, 'notes/report.md'), 'utf8')).toBe('my own notes\n');

      // A job report whose run ID climbs out of the project is refused before anything is written.
      const hostile = JSON.parse(await readFile(path.join(project.dir, 'reports', 'gild-report-base', runId, 'report.json'), 'utf8')) as Record<string, unknown>;
      await mkdir(path.join(project.dir, 'hostile'));
      await writeFile(path.join(project.dir, 'hostile/report.json'), JSON.stringify({ ...hostile, runId: '../../../escaped' }));
      const climbing = await project.gild(['report', 'merge', 'hostile'], env);
      expect(climbing.exitCode, climbing.stderr).toBe(2);
      expect(climbing.stderr).toMatch(/hostile\/report\.json: .*runId.*a run ID is letters, digits and dashes/);
      expect(climbing.stderr).not.toMatch(/\n\s+at /);
      await expect(stat(path.join(project.dir, '..', '..', 'escaped'))).rejects.toThrow(/ENOENT/);
    } finally {
      await project.remove();
    }
  });
});
