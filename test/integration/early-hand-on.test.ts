/**
 * The build hands on its AMI once Packer has tagged it, and the packer-exit step waits for the rest of `packer build`
 * (src/plan/plan-packer-exit.ts), end to end through the CLI, real Packer and moto on AWS's clock. A fault proxy holds
 * Packer's DeleteKeyPair, a call Packer makes only after its AMI is tagged and its instance terminated, so that the
 * test decides when Packer may finish; every wait is on an event (a call arriving, the run ending).
 * - Passing: the smoke instance is launched while Packer is still held in its cleanup (so the smoke test did not wait
 *   for Packer's exit), and the image publishes only after Packer exited well.
 * - Failing after the AMI: while Packer is held, the manifest's path is made a folder, so Packer's manifest
 *   post-processor fails and `packer build` exits 1 after making a good AMI. Nothing is published, the AMI is gone
 *   from every region (its copy cancelled and removed), nothing of the build is left running, and the next run
 *   converges.
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { mkdir, readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultImageGiB, gildPollingEnv, packerPollingEnv } from '../support/aws-clock-model.ts';
import { startClockProxy, type ClockProxy } from '../support/aws-clock-proxy.ts';
import { awsClients, liveGildInstances, parametersUnder } from '../support/aws-state.ts';
import { convergenceViolations } from '../support/convergence.ts';
import { startFaultProxy, type FaultProxy, type ProxyCall } from '../support/fault-proxy.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot, type TempProject } from '../support/project.ts';

const regions = "{ build: 'us-east-1', copies: ['us-west-2'] }";
const allRegions = ['us-east-1', 'us-west-2'];

let moto: MotoServer;
let clock: ClockProxy;
let faults: FaultProxy;

beforeAll(async () => {
  moto = await startMoto();
  // 1 AWS minute = 1 s, every AMI 8 GiB: a copy is pending 15 s, several times what a smoke test takes.
  clock = await startClockProxy(moto.motoEndpoint, { scale: 60, imageGiB: defaultImageGiB });
  faults = await startFaultProxy(clock.endpoint);
});
afterAll(async () => {
  await faults?.stop();
  await clock?.stop();
  await moto?.stop();
});

const env = () => ({ ...faults.env(moto.env), ...packerPollingEnv(clock.clock), GILD_COPY_POLL_MS: gildPollingEnv(clock.clock).GILD_COPY_POLL_MS, GILD_SMOKE_POLL_MS: '200' });

async function projectOf(name: string, smoke = "{ checks: [{ name: 'answers', run: 'true' }] }"): Promise<TempProject> {
  return createTempProject({
    settings: (await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8')).replace('concurrency: 2,', "concurrency: 2,\n  regionCopies: 'gild',"),
    // NOTE: a base named by its SSM parameter, not an OS preset: never a container twin, whatever images the machine's
    // container engine holds (a build with a twin does not hand on early).
    images: { [`${name}.ts`]: imageSource({ name, regions, base: "{ ssmParameter: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' }", extra: `smoke: ${smoke},` }) },
  });
}

/** The process group of the `packer build` running in `folder` (Packer runs in a group of its own, led by its wrapper). */
async function packerGroupIn(folder: string): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const [cwd, command] = await Promise.all([readlink(`/proc/${entry}/cwd`).catch(() => ''), readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')]);
    if (cwd === folder && command.split('\0').includes('build')) return Number((await readFile(`/proc/${entry}/stat`, 'utf8')).split(') ')[1]!.split(' ')[2]);
  }
  throw new Error(`no packer build runs in ${folder}`);
}

/**
 * Holds Packer's DeleteKeyPair for `image` (its key pair is `gild_<run>_<image>`) until `release` is called; `held`
 * resolves when it arrives. Every other call is recorded with the instant the proxy saw it.
 */
function holdPackerCleanup(image: string) {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let heldAt: ((call: ProxyCall) => void) | undefined;
  const held = new Promise<ProxyCall>((resolve) => (heldAt = resolve));
  const calls: { action: string; at: number; body: string }[] = [];
  const waiters: { matches: (call: (typeof calls)[number]) => boolean; resolve: () => void }[] = [];
  faults.setRules({
    holds: [{ service: 'ec2', action: 'DeleteKeyPair', bodyIncludes: `_${image}`, onHeld: (call) => heldAt?.(call), release: released }],
    onCall: (call, body) => {
      const seen = { action: call.action, at: call.at, body };
      calls.push(seen);
      for (const waiter of waiters.filter((candidate) => candidate.matches(seen))) waiter.resolve();
    },
  });
  /** Resolves once a call matching `matches` has arrived (at once if one has). */
  const arrival = (matches: (call: (typeof calls)[number]) => boolean) => new Promise<void>((resolve) => (calls.some(matches) ? resolve() : waiters.push({ matches, resolve })));
  return { held, release, arrival };
}

async function amisOf(image: string, region: string) {
  const { ec2 } = awsClients(moto.endpoint, region);
  const answer = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:gild:image', Values: [image] }] }));
  ec2.destroy();
  return (answer.Images ?? []).map((ami) => `${ami.ImageId} ${ami.State}`);
}

/** The folder of the project's newest run (`.gild/runs/<run-id>`). */
async function latestRun(project: TempProject): Promise<string> {
  const runs = path.join(project.dir, '.gild', 'runs');
  const [runId] = (await readdir(runs)).sort().reverse();
  return path.join(runs, runId!);
}

async function runLog(project: TempProject, image: string): Promise<string> {
  return readFile(path.join(await latestRun(project), `${image}.log`), 'utf8');
}

/** Starts `gild run` with Packer's cleanup held, and returns once it is (failing if gild ends first). */
async function runUntilPackerHeld(project: TempProject, image: string) {
  const packer = holdPackerCleanup(image);
  const run = project.gild(['run'], env());
  await Promise.race([packer.held, run.then((result) => Promise.reject(new Error(`gild ended before Packer deleted its key pair:\n${result.stdout}${result.stderr}`)))]);
  return { packer, run };
}

/** No versions/1.0.0 in any region, and no AMI of the image left in any (its copies cancelled and removed). */
async function expectNeitherPublishedNorLeft(image: string): Promise<void> {
  for (const region of allRegions) {
    expect(await parametersUnder(moto.endpoint, region, `/golden/${image}`)).not.toHaveProperty(`/golden/${image}/versions/1.0.0`);
    expect(await amisOf(image, region), region).toEqual([]);
  }
}

/** With no faults, the next `gild run` succeeds and leaves the image as a converged run does. */
async function expectNextRunConverges(project: TempProject, image: string): Promise<void> {
  faults.setRules({});
  const rerun = await project.gild(['run'], env());
  expect(rerun.exitCode, rerun.stdout + rerun.stderr).toBe(0);
  expect(await convergenceViolations(moto.endpoint, { [image]: allRegions })).toEqual([]);
}

describe("the build hands on Packer's AMI before Packer exits", () => {
  it('smoke-tests the AMI while Packer is still cleaning up, and publishes only after Packer exited well', async () => {
    const project = await projectOf('handed-on');
    try {
      const { packer, run } = await runUntilPackerHeld(project, 'handed-on');
      // Packer is held in its cleanup, so it cannot have exited: the smoke instance is launched all the same (before
      // or after the hold), and only that launch lets Packer go on. A build that waited for Packer's exit would never
      // launch it: the run would wait for the held call, and the test end at its timeout, failed.
      await Promise.race([
        packer.arrival((call) => call.action === 'RunInstances' && call.body.includes('gild:role') && call.body.includes('smoke')),
        run.then((result) => Promise.reject(new Error(`gild ended while Packer was held:\n${result.stdout}${result.stderr}`))),
      ]);
      packer.release();
      const result = await run;
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);

      const log = await runLog(project, 'handed-on');
      expect(log).toMatch(/Packer tagged us-east-1:ami-[0-9a-f]+: handed on while Packer cleans up/);
      expect(log).toMatch(/Packer exited well after handing on us-east-1:ami-[0-9a-f]+/);
      // The publish came after Packer's exit (the step's stamp), which came after the held call was let go.
      const stamp = (pattern: RegExp) =>
        Date.parse(
          log
            .split('\n')
            .find((line) => pattern.test(line))!
            .split(' ')[0]!,
        );
      expect(stamp(/Packer exited well/)).toBeLessThan(stamp(/ info publish:handed-on: /));
      for (const region of allRegions) expect((await parametersUnder(moto.endpoint, region, '/golden/handed-on'))['/golden/handed-on/versions/1.0.0']).toMatch(/^ami-/);
      expect(await liveGildInstances(moto.endpoint)).toEqual([]);
    } finally {
      await project.remove();
    }
  });

  it('marks failed and discards the AMI a cancelled `packer build` keeps, and never waits in a circle with the regions\u2019 own smoke tests', async () => {
    // smoke.regions 'all': each copy gets a smoke test of its own, which waits for the copy, which waits for packer-exit.
    const project = await projectOf('packer-cancelled-late', "{ regions: 'all', checks: [{ name: 'answers', run: 'true' }] }");
    try {
      const { packer, run } = await runUntilPackerHeld(project, 'packer-cancelled-late');
      // Interrupted after its AMI is tagged, Packer finishes its cleanup, skips its post-processors, exits 1 and keeps
      // the AMI (docs/aws-clock.md): gild itself was not interrupted, so packer-exit must mark it failed.
      process.kill(-(await packerGroupIn(path.join(await latestRun(project), 'packer-cancelled-late', 'packer'))), 'SIGINT');
      packer.release();
      const result = await run;
      expect(result.exitCode, result.stdout + result.stderr).toBe(1);
      const log = await runLog(project, 'packer-cancelled-late');
      expect(log).toMatch(/packer-exit:packer-cancelled-late failed: Packer build failed for image "packer-cancelled-late" after making us-east-1:ami-/);
      expect(log).toMatch(/us-east-1: tagged ami-[0-9a-f]+, snap-[0-9a-f]+ gild:status=failed/);
      // The planned discard removed it (its line in the run's summary).
      expect(result.stdout + result.stderr).toMatch(/deregistered ami-[0-9a-f]+ .*because it failed \(its smoke test, or its Packer build after the AMI/);
      await expectNeitherPublishedNorLeft('packer-cancelled-late');
      expect(await liveGildInstances(moto.endpoint)).toEqual([]);

      await expectNextRunConverges(project, 'packer-cancelled-late');
    } finally {
      await project.remove();
    }
  });

  it('discards a good AMI whose `packer build` then failed, copies included, and the next run converges', async () => {
    const project = await projectOf('packer-fails-late');
    try {
      const { packer, run } = await runUntilPackerHeld(project, 'packer-fails-late');
      // The manifest post-processor runs after the cleanup: a folder where its file goes fails it, and Packer exits 1.
      await mkdir(path.join(await latestRun(project), 'packer-fails-late', 'packer', 'manifest.json'));
      packer.release();
      const result = await run;
      expect(result.exitCode, result.stdout + result.stderr).toBe(1);
      expect(result.stdout + result.stderr).toMatch(/Packer build failed for image "packer-fails-late" after making us-east-1:ami-/);

      // Never published, gone from every region (the copy cancelled and removed), nothing of the build left running.
      await expectNeitherPublishedNorLeft('packer-fails-late');
      // NOTE: Packer 1.6.6 destroys its artifact when a post-processor fails this way (it deregisters the AMI it had
      // tagged): the smoke test then finds its AMI gone, the copy its source gone. Marking a kept AMI failed is the
      // unit test's (test/unit/packer-exit-stage.test.ts).
      const log = await runLog(project, 'packer-fails-late');
      expect(log).toMatch(/packer-exit:packer-fails-late failed: Packer build failed for image "packer-fails-late" after making us-east-1:ami-/);
      expect(log).toMatch(/cancelled and removed the copy ami-[0-9a-f]+, snap-[0-9a-f]+ in us-west-2/);
      expect(await liveGildInstances(moto.endpoint)).toEqual([]);

      await expectNextRunConverges(project, 'packer-fails-late');
    } finally {
      await project.remove();
    }
  });
});
