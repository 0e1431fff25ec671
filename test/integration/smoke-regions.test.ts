/**
 * Smoke where it is published (`smoke.regions: 'all'`), end to end through the CLI, real Packer and moto on AWS's
 * clock (test/support/aws-clock-proxy.ts: a copy is pending many times a smoke test). A fault proxy in front fails one
 * image's check in us-west-2 only. What must hold:
 * - with gild's copies, each region's copy is launched there, after that copy is available and before anything is
 *   published; the published AMI of every region is the one launched there;
 * - an image that passes in its build region but fails in another is published nowhere and left nowhere: its build
 *   region's AMI and its copies are all removed, and the report names the region's smoke step as failed;
 * - with Packer's copies, the AMI Packer copied is launched in its region too;
 * - the plan says where each image is launched, and a default image says which regions are not.
 * Waits are on the run's end; the instants compared are the clock proxy's own.
 */
import { DescribeImagesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultImageGiB, gildPollingEnv, imageAvailableAt, packerPollingEnv } from '../support/aws-clock-model.ts';
import { startClockProxy, type ClockProxy } from '../support/aws-clock-proxy.ts';
import { awsClients, liveGildInstances, parametersUnder } from '../support/aws-state.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot, type TempProject } from '../support/project.ts';

const regions = "{ build: 'us-east-1', copies: ['us-west-2'] }";
const allRegions = ['us-east-1', 'us-west-2'];

let moto: MotoServer;
const proxies: { clock: ClockProxy; faults: FaultProxy }[] = [];

/**
 * moto on AWS's clock at `scale`, every AMI modelled at 8 GiB (the root volume of an Amazon Linux 2023 image built
 * with no volume mapping; moto names 15 GiB for every AMI), behind a fault proxy that fails one image's check in
 * us-west-2 only. Each test has its own clock: the model's events and images are that test's alone.
 */
async function onClock(scale: number): Promise<{ clock: ClockProxy; faults: FaultProxy }> {
  const clock = await startClockProxy(moto.motoEndpoint, { scale, imageGiB: defaultImageGiB });
  const faults = await startFaultProxy(clock.endpoint);
  faults.setRules({ commands: [{ marker: 'gild-test-fails-in-west', region: 'us-west-2', status: 'Failed', exitCode: 3, stderr: 'broken in us-west-2 on purpose' }] });
  proxies.push({ clock, faults });
  return { clock, faults };
}

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  for (const { clock, faults } of proxies) {
    await faults.stop();
    await clock.stop();
  }
  await moto?.stop();
});

async function projectWith(regionCopies: 'gild' | 'packer', images: Record<string, string>): Promise<TempProject> {
  const settings = (await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8')).replace('concurrency: 2,', `concurrency: 3,\n  regionCopies: '${regionCopies}',`);
  return createTempProject({ settings, images });
}

/**
 * Packer polls as on AWS, scaled; gild polls a copy as on AWS, scaled (every 15 AWS seconds), and a smoke instance or
 * command every 200 ms (finer than AWS's 3 s scaled would only cost the emulator's CPU: no assertion is on durations).
 */
const env = ({ clock, faults }: { clock: ClockProxy; faults: FaultProxy }) => ({
  ...faults.env(moto.env),
  ...packerPollingEnv(clock.clock),
  GILD_COPY_POLL_MS: gildPollingEnv(clock.clock).GILD_COPY_POLL_MS,
  GILD_SMOKE_POLL_MS: '200',
});

async function gildAmis(region: string, image: string) {
  const { ec2 } = awsClients(moto.endpoint, region);
  const answer = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:gild:image', Values: [image] }] }));
  ec2.destroy();
  return answer.Images ?? [];
}

/** Every smoke instance gild launched for the image in the region, terminated or not: AMI and instance IDs. */
async function smokeInstances(region: string, image: string): Promise<{ instanceId: string; imageId: string }[]> {
  const { ec2 } = awsClients(moto.endpoint, region);
  const answer = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:gild:image', Values: [image] },
        { Name: 'tag:gild:role', Values: ['smoke'] },
      ],
    }),
  );
  ec2.destroy();
  return (answer.Reservations ?? []).flatMap((reservation) => (reservation.Instances ?? []).map((instance) => ({ instanceId: instance.InstanceId!, imageId: instance.ImageId! })));
}

async function lastReport(project: TempProject): Promise<{ images: { image: string; steps: { id: string; status: string; outcome?: string }[] }[] }> {
  const runs = path.join(project.dir, '.gild', 'runs');
  const [runId] = (await readdir(runs)).sort().reverse();
  return JSON.parse(await readFile(path.join(runs, runId!, 'report.json'), 'utf8')) as never;
}

describe("smoke.regions: 'all'", () => {
  it("with gild's copies, launches each region's copy once it is available and before anything is published; a failure in one region leaves the image nowhere", { timeout: 600_000 }, async () => {
    const project = await projectWith('gild', {
      'everywhere-ok.ts': imageSource({ name: 'everywhere-ok', regions, extra: "smoke: { regions: 'all', checks: [{ name: 'answers', run: 'true' }] }," }),
      'everywhere-bad.ts': imageSource({ name: 'everywhere-bad', regions, extra: "smoke: { regions: 'all', checks: [{ name: 'breaks in the west', run: 'echo gild-test-fails-in-west' }] }," }),
      'build-only.ts': imageSource({ name: 'build-only', regions, extra: "smoke: { checks: [{ name: 'answers', run: 'true' }] }," }),
    });
    // 1 AWS minute = 1 s: a copy is pending 15 s, several times the build region's smoke test (an instance usable
    // after about 2.5 s, its checks), so a launch in us-west-2 that did not wait for its copy would come before it is
    // available, and the comparison below would fail.
    const proxied = await onClock(60);
    const { clock } = proxied;
    try {
      const plan = await project.gild(['plan'], env(proxied));
      expect(plan.exitCode, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(/smoke test 1\.0\.0 in us-west-2, on its copy there — smoke\.regions is "all"/);
      expect(plan.stdout).toContain('launched in us-east-1 first, then in us-west-2 (smoke.regions is "all")');
      expect(plan.stdout).toContain('launched in us-east-1 only: us-west-2 gets its copy published without launching (smoke.regions: "all" launches them too)');

      const run = await project.gild(['run'], env(proxied));
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      expect(run.stdout + run.stderr).not.toMatch(/internal error/);

      // The passing image: every region's published AMI is the one launched there, the copy once it was available.
      const published: Record<string, string> = {};
      for (const region of allRegions) published[region] = (await parametersUnder(moto.endpoint, region, '/golden/everywhere-ok'))['/golden/everywhere-ok/versions/1.0.0']!;
      for (const region of allRegions) {
        expect(published[region], region).toMatch(/^ami-/);
        expect((await smokeInstances(region, 'everywhere-ok')).map((instance) => instance.imageId)).toEqual([published[region]]);
      }
      const [westInstance] = await smokeInstances('us-west-2', 'everywhere-ok');
      const copy = clock.images.get(published['us-west-2']!);
      expect(copy?.kind).toBe('copyImage');
      expect(clock.instances.get(westInstance!.instanceId)!.launchedAt).toBeGreaterThanOrEqual(imageAvailableAt(clock.clock, copy!));
      // The default image: its copy was published without being launched.
      expect(await smokeInstances('us-west-2', 'build-only')).toEqual([]);
      expect((await parametersUnder(moto.endpoint, 'us-west-2', '/golden/build-only'))['/golden/build-only/versions/1.0.0']).toMatch(/^ami-/);

      // The image that fails in us-west-2 only: it passed in us-east-1, was launched in the west, and is left nowhere.
      const report = await lastReport(project);
      const bad = report.images.find((entry) => entry.image === 'everywhere-bad')!;
      const status = Object.fromEntries(bad.steps.map((entry) => [entry.id, entry.status]));
      expect(status).toMatchObject({
        'smoke:everywhere-bad': 'done',
        'copy:everywhere-bad:us-west-2': 'done',
        'smoke:everywhere-bad:us-west-2': 'failed',
        'discard:everywhere-bad:us-east-1': 'done',
        'discard:everywhere-bad:us-west-2': 'done',
        'publish:everywhere-bad': 'skipped',
      });
      expect((await smokeInstances('us-west-2', 'everywhere-bad')).length).toBe(1);
      for (const region of allRegions) {
        expect(await gildAmis(region, 'everywhere-bad'), region).toEqual([]);
        expect(Object.keys(await parametersUnder(moto.endpoint, region, '/golden/everywhere-bad')).filter((name) => name.includes('/versions/'))).toEqual([]);
        expect(await liveGildInstances(moto.endpoint, region)).toEqual([]);
      }
    } finally {
      await project.remove();
    }
  });

  it("with Packer's copies, launches the AMI Packer copied in its region too", { timeout: 300_000 }, async () => {
    const project = await projectWith('packer', {
      'packer-all.ts': imageSource({ name: 'packer-all', regions, extra: "smoke: { regions: 'all', checks: [{ name: 'answers', run: 'true' }] }," }),
    });
    // Nothing here compares instants: Packer's build waits out its copy, whatever its length; 1 AWS minute = 0.2 s
    // keeps every wait modelled (pending AMIs, instances, the agent, commands) at a fifth of the time.
    const proxied = await onClock(300);
    try {
      const run = await project.gild(['run'], env(proxied));
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      for (const region of allRegions) {
        const amiId = (await parametersUnder(moto.endpoint, region, '/golden/packer-all'))['/golden/packer-all/versions/1.0.0'];
        expect(amiId, region).toMatch(/^ami-/);
        expect((await smokeInstances(region, 'packer-all')).map((instance) => instance.imageId)).toEqual([amiId]);
        expect(await liveGildInstances(moto.endpoint, region)).toEqual([]);
      }
      const report = await lastReport(project);
      expect(report.images[0]!.steps.find((entry) => entry.id === 'smoke:packer-all:us-west-2')?.status).toBe('done');
    } finally {
      await project.remove();
    }
  });
});
