/**
 * CI jobs of one saved plan, each in its own workspace as on a runner, with no
 * barrier between waves: the job holding an image whose base another job
 * builds waits for that base's publication (`--wait-for-bases`), then builds
 * on it; when the base's job fails, only the image waiting for it is skipped,
 * with the reason. With gild's region copies the dependant builds once its
 * base passed its smoke test (its AMI tagged tested), before the base publishes.
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { awsClients } from '../support/aws-state.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot, type TempProject } from '../support/project.ts';

describe('fleet jobs that wait for their own bases', () => {
  const emulator = useMotoBehindFaultProxy();

  /** Two job workspaces of one project, the plan saved in both. */
  async function jobsOf(images: Record<string, string>, env: Record<string, string>, published: Record<string, string> = {}, settings?: string) {
    const workspaces = await Promise.all([
      createTempProject({ images: { ...images, ...published }, ...(settings ? { settings } : {}) }),
      createTempProject({ images: { ...images, ...published }, ...(settings ? { settings } : {}) }),
    ]);
    // Versions published before the plan is made, by an earlier nightly.
    if (Object.keys(published).length > 0) {
      const earlier = await workspaces[0].gild(['run', ...Object.keys(published).map((file) => file.replace(/\.ts$/, ''))], env);
      expect(earlier.exitCode, earlier.stdout + earlier.stderr).toBe(0);
      for (const workspace of workspaces) for (const [file, source] of Object.entries(images)) if (file in published) await writeFile(path.join(workspace.dir, 'images', file), source);
    }
    const planned = await workspaces[0].gild(['plan', '--json'], env);
    expect(planned.exitCode, planned.stderr).toBe(0);
    for (const workspace of workspaces) await writeFile(path.join(workspace.dir, 'plan.json'), planned.stdout);
    return { workspaces };
  }

  /** The fan-out of the saved plan, one image a job (one test asserts it; the others run the jobs it would give). */
  async function matrixOf(workspace: TempProject, env: Record<string, string>) {
    const matrix = await workspace.gild(['plan', '--matrix', '--from', 'plan.json', '--per-job', '1'], env);
    expect(matrix.exitCode, matrix.stderr).toBe(0);
    return JSON.parse(matrix.stdout) as { matrices: { include: { job: number; images: string; waitsFor: string }[] }[] };
  }

  /** Starts the job, and resolves once it says it is waiting for a base (an event, not a time). */
  async function startWaitingJob(workspace: TempProject, image: string, env: Record<string, string>) {
    const job = workspace.spawn(['run', image, '--plan', 'plan.json', '--wait-for-bases', '5'], env);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      job.stderr!.on('data', (chunk: Buffer) => {
        output += String(chunk);
        if (output.includes('waiting up to 5 min for "base" 1.0.0')) resolve();
      });
      job.then(() => reject(new Error(`the job ended without waiting:\n${output}`)), reject);
    });
    // NOTE: wrapped, since a subprocess is a promise: returned as it is, awaiting this would await the job's end.
    return { job };
  }

  it('builds the dependant once its base, in another job started after it, is published', async () => {
    const env = { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100', GILD_WAIT_POLL_MS: '200' };
    const { workspaces } = await jobsOf({ 'base.ts': imageSource({ name: 'base' }), 'app.ts': imageSource({ name: 'app', base: "{ image: 'base' }" }) }, env);
    try {
      expect((await matrixOf(workspaces[0], env)).matrices).toEqual([
        {
          include: [
            { job: 1, images: 'base', waitsFor: '' },
            { job: 2, images: 'app', waitsFor: 'base' },
          ],
        },
      ]);
      const { job: appJob } = await startWaitingJob(workspaces[1], 'app', env);
      const baseJob = await workspaces[0].gild(['run', 'base', '--plan', 'plan.json'], env);
      expect(baseJob.exitCode, baseJob.stdout + baseJob.stderr).toBe(0);
      const app = await appJob;
      expect(app.exitCode, String(app.stdout) + String(app.stderr)).toBe(0);
      expect(String(app.stderr)).toContain('"base" 1.0.0 is published');
      expect(String(app.stdout)).toMatch(/app 1\.0\.0 published/);
    } finally {
      await Promise.all(workspaces.map((workspace) => workspace.remove()));
    }
  });

  it("with gild's region copies, builds the dependant once its base, in another job, passed its smoke test, and publishes it after the base", async () => {
    const env = { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100', GILD_WAIT_POLL_MS: '200', GILD_COPY_POLL_MS: '100' };
    const settings = (await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8')).replace(/concurrency: (\d+),/, "concurrency: $1,\n  regionCopies: 'gild',");
    expect(settings).toContain("regionCopies: 'gild'");
    const { workspaces } = await jobsOf({ 'base.ts': imageSource({ name: 'base' }), 'app.ts': imageSource({ name: 'app', base: "{ image: 'base' }" }) }, env, {}, settings);
    // The base's copy to us-west-2 is held until the app's build has begun (its security group is made): the base
    // cannot publish before then, so an app that waited for the base's publish to build would never build.
    const calls: { action: string; body: string; at: number }[] = [];
    let releaseCopies = () => {};
    const copiesReleased = new Promise<void>((resolve) => (releaseCopies = resolve));
    emulator.proxy.setRules({
      holds: [{ service: 'ec2', action: 'CopyImage', release: copiesReleased }],
      onCall: (call, body) => {
        calls.push({ action: call.action, body, at: call.at });
        if (call.action === 'CreateSecurityGroup' && body.includes('_app')) releaseCopies();
      },
    });
    try {
      const { job: appJob } = await startWaitingJob(workspaces[1], 'app', env);
      const baseJob = await workspaces[0].gild(['run', 'base', '--plan', 'plan.json'], env);
      expect(baseJob.exitCode, baseJob.stdout + baseJob.stderr).toBe(0);
      const app = await appJob;
      expect(app.exitCode, String(app.stdout) + String(app.stderr)).toBe(0);
      expect(String(app.stderr)).toContain('waiting up to 5 min for "base" 1.0.0, which another job builds, to pass its smoke test');
      expect(String(app.stderr)).toContain('"base" 1.0.0 passed its smoke test');
      expect(String(app.stdout)).toMatch(/app 1\.0\.0 published/);
      // In order: the app's build began, then the base published (its versions/1.0.0), then the app did.
      const appBuilt = calls.find((call) => call.action === 'CreateSecurityGroup' && call.body.includes('_app'))!.at;
      const published = (image: string) => calls.find((call) => call.action === 'PutParameter' && call.body.includes(`/${image}/versions/1.0.0`))?.at ?? Infinity;
      expect(appBuilt).toBeLessThan(published('base'));
      expect(published('base')).toBeLessThan(published('app'));
      // Built on the AMI the base's smoke test passed, which is the one the base published in its build region.
      const { ec2, ssm } = awsClients(emulator.moto.endpoint, 'us-east-1');
      try {
        const baseAmi = (await ssm.send(new GetParameterCommand({ Name: '/golden/base/versions/1.0.0' }))).Parameter?.Value;
        const appAmis = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:gild:image', Values: ['app'] }] }))).Images ?? [];
        expect(baseAmi).toMatch(/^ami-/);
        expect(appAmis.map((ami) => ami.Tags?.find((tag) => tag.Key === 'gild:base-ami')?.Value)).toEqual([baseAmi]);
      } finally {
        ec2.destroy();
        ssm.destroy();
      }
    } finally {
      releaseCopies();
      await Promise.all(workspaces.map((workspace) => workspace.remove()));
    }
  });

  it("skips only the dependant when its base's job fails, as soon as that job lets go of the base", async () => {
    const env = { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100', GILD_WAIT_POLL_MS: '200' };
    const images = {
      'base.ts': imageSource({ name: 'base', extra: "smoke: { checks: [{ name: 'kernel is patched', run: 'check-kernel FAIL-ME' }] }," }),
      'app.ts': imageSource({ name: 'app', base: "{ image: 'base' }" }),
    };
    const { workspaces } = await jobsOf(images, env);
    emulator.proxy.setRules({ commands: [{ marker: 'FAIL-ME', status: 'Failed', exitCode: 3, stderr: 'kernel 5.10 is vulnerable' }] });
    try {
      const { job: appJob } = await startWaitingJob(workspaces[1], 'app', env);
      const baseJob = await workspaces[0].gild(['run', 'base', '--plan', 'plan.json'], env);
      expect(baseJob.exitCode).toBe(1);
      expect(baseJob.stdout).toMatch(/base failed in smoke/);
      const app = await appJob;
      // Whichever the waiter sees first: the base's lock let go, or its job's end marker (written just after).
      expect(String(app.stdout)).toMatch(
        // With gild's region copies (the default) the app waits for the base's smoke test, not its publish.
        /app skipped: its base image "base" was not published \((publish|smoke):base failed: (the job building "base" (released its lock without (publishing|a tested AMI of) 1\.0\.0|ended without (publishing|a tested AMI of) 1\.0\.0 \(failed: smoke test failed)|base image "base" 1\.0\.0 failed its smoke test)/,
      );
      // The job did not do what the reviewed plan said (build app): it fails too, the reason in its report.
      expect(app.exitCode).toBe(1);
      expect(String(app.stderr)).toMatch(/1 image failed: app/);
      const report = JSON.parse(await readFile(path.join(workspaces[1].dir, String(app.stdout).match(/JSON: (\S+)\)/)![1]!), 'utf8')) as {
        images: { image: string; result: string; resultReason?: string }[];
      };
      expect(report.images.find((entry) => entry.image === 'app')).toMatchObject({
        result: 'skipped',
        resultReason: expect.stringMatching(/the job building "base" (released its lock|ended) without (publishing|a tested AMI of) 1\.0\.0|base image "base" 1\.0\.0 failed its smoke test/),
      });
    } finally {
      await Promise.all(workspaces.map((workspace) => workspace.remove()));
    }
  });

  it("stops waiting as soon as the base's job refuses the plan before it ever locks, and fails the dependant's job", async () => {
    const env = { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100', GILD_WAIT_POLL_MS: '200' };
    const { workspaces } = await jobsOf({ 'base.ts': imageSource({ name: 'base' }), 'app.ts': imageSource({ name: 'app', base: "{ image: 'base' }" }) }, env);
    try {
      // The base's definition changed in its job's checkout since the plan was made: its job refuses the plan.
      await writeFile(
        path.join(workspaces[0].dir, 'images', 'base.ts'),
        imageSource({ name: 'base', extra: "description: 'edited after the plan'," }).replace("  description: 'test image base',\n", ''),
      );
      const { job: appJob } = await startWaitingJob(workspaces[1], 'app', env);
      const baseJob = await workspaces[0].gild(['run', 'base', '--plan', 'plan.json'], env);
      expect(baseJob.exitCode, baseJob.stdout + baseJob.stderr).not.toBe(0);
      expect(baseJob.stderr).toMatch(/base: what goes into the image .* changed since the plan was made/);
      // NOTE: the wait is 5 min; the test's own timeout is shorter, so an app job that waited for its deadline fails it.
      const app = await appJob;
      expect(app.exitCode, String(app.stdout) + String(app.stderr)).toBe(1);
      expect(String(app.stdout)).toMatch(
        /app skipped: its base image "base" was not published \((publish|smoke):base failed: the job building "base" ended without (publishing|a tested AMI of) 1\.0\.0 \(refused: The world moved since the plan was made.*base: what goes into the image .*changed since the plan was made/,
      );
    } finally {
      await Promise.all(workspaces.map((workspace) => workspace.remove()));
    }
  });

  it('refuses to build on a base revoked since the plan was made, before locking anything', async () => {
    const env = { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100', GILD_WAIT_POLL_MS: '200' };
    // base 1.0.0 was published by an earlier nightly: revoking 1.1.0 moves the pointers back to it.
    const { workspaces } = await jobsOf({ 'base.ts': imageSource({ name: 'base', version: '1.1.0' }), 'app.ts': imageSource({ name: 'app', base: "{ image: 'base' }" }) }, env, {
      'base.ts': imageSource({ name: 'base' }),
    });
    try {
      const baseJob = await workspaces[0].gild(['run', 'base', '--plan', 'plan.json'], env);
      expect(baseJob.exitCode, baseJob.stdout + baseJob.stderr).toBe(0);
      const revoke = await workspaces[0].gild(['revoke', 'base', '1.1.0', '--reason', 'CVE-2026-0001 in openssl'], env);
      expect(revoke.exitCode, revoke.stdout + revoke.stderr).toBe(0);
      // The app's job starts late (a slow runner, a re-run): the saved plan still says "base 1.1.0".
      const app = await workspaces[1].gild(['run', 'app', '--plan', 'plan.json', '--wait-for-bases', '5'], env);
      expect(app.exitCode).not.toBe(0);
      expect(app.stderr).toContain('app: the plan has another job build base image "base" 1.1.0, which was revoked since the plan was made (CVE-2026-0001 in openssl;');
      const status = await workspaces[1].gild(['status', 'app'], env);
      expect(status.stdout).not.toMatch(/app\s+1\.0\.0/);
    } finally {
      await Promise.all(workspaces.map((workspace) => workspace.remove()));
    }
  });
});
