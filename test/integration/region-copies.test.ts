/**
 * gild's own region copies (settings `regionCopies: 'gild'`), end to end through the CLI, real Packer and moto on
 * AWS's clock (test/support/aws-clock-proxy.ts: copies take many times a smoke test, as on AWS). A fault proxy in
 * front fails one image's smoke check. What must hold:
 * - a failing image in a three-region definition is never copied: no AMI of it is left in any other region;
 * - a passing one is smoke-tested while its copies run (its smoke step starts before they are available);
 * - an image built on it starts building before its base's copies are available, and publishes after its base;
 * - every region's versions/<v> names the AMI of that region, each a copy gild made, encrypted as the region says.
 * Waits are on the run's end and the proxy's first-sighting events; the instants compared are the run's own log
 * stamps and the proxy's.
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultImageGiB, gildPollingEnv, packerPollingEnv } from '../support/aws-clock-model.ts';
import { startClockProxy, type ClockProxy } from '../support/aws-clock-proxy.ts';
import { awsClients, liveGildInstances, parametersUnder } from '../support/aws-state.ts';
import { convergenceViolations } from '../support/convergence.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot, type TempProject } from '../support/project.ts';

const regions = "{ build: 'us-east-1', copies: ['us-west-2', 'eu-west-1'] }";
const copyRegions = ['us-west-2', 'eu-west-1'];

let moto: MotoServer;
let clock: ClockProxy;
let faults: FaultProxy;
let project: TempProject;

beforeAll(async () => {
  moto = await startMoto();
  // 1 AWS minute = 1 s: a copy is pending 15 s, a build's image 4 s, a smoke instance usable after about 2.5 s; the
  // copies outlast a smoke test by a margin a loaded machine does not eat up. Every AMI is modelled at 8 GiB, the root
  // volume of an Amazon Linux 2023 image built with no volume mapping (moto names 15 GiB for every AMI, which kept each
  // copy pending 23.75 s), as the fleet benchmark does.
  clock = await startClockProxy(moto.motoEndpoint, { scale: 60, imageGiB: defaultImageGiB });
  faults = await startFaultProxy(clock.endpoint);
  faults.setRules({ commands: [{ marker: 'gild-test-fails-here', status: 'Failed', exitCode: 3, stderr: 'broken on purpose' }] });
  const settings = (await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8')).replace('concurrency: 2,', "concurrency: 3,\n  regionCopies: 'gild',");
  project = await createTempProject({
    settings,
    images: {
      'copied-ok.ts': imageSource({ name: 'copied-ok', regions, extra: "smoke: { checks: [{ name: 'answers', run: 'true' }] }," }),
      'copied-bad.ts': imageSource({ name: 'copied-bad', regions, extra: "smoke: { checks: [{ name: 'breaks', run: 'echo gild-test-fails-here' }] }," }),
      'copied-child.ts': imageSource({ name: 'copied-child', regions, base: "{ image: 'copied-ok' }", extra: "smoke: { checks: [{ name: 'answers', run: 'true' }] }," }),
    },
  });
});
afterAll(async () => {
  await project?.remove();
  await faults?.stop();
  await clock?.stop();
  await moto?.stop();
});

/** When each step of the run started, from the image logs' stamps (`<iso> info <step id>: <title> — <reason>`). */
async function stepStarts(): Promise<Map<string, number>> {
  const runs = path.join(project.dir, '.gild', 'runs');
  const [runId] = (await readdir(runs)).sort().reverse();
  const starts = new Map<string, number>();
  for (const file of (await readdir(path.join(runs, runId!))).filter((name) => name.endsWith('.log'))) {
    for (const line of (await readFile(path.join(runs, runId!, file), 'utf8')).split('\n')) {
      const match = /^(\S+) info ((?:build|copy|smoke|share|publish|resume):[^:\s]+(?::[a-z0-9-]+)?): /.exec(line);
      if (match && !starts.has(match[2]!)) starts.set(match[2]!, Date.parse(match[1]!));
      const passed = /^(\S+) info smoke test passed/.exec(line);
      if (passed) starts.set(`passed:${file.replace(/\.log$/, '')}`, Date.parse(passed[1]!));
    }
  }
  return starts;
}

/**
 * Packer polls as on AWS, scaled; gild polls a copy as on AWS, scaled (every 15 AWS seconds: 250 ms), and a smoke
 * instance or command every 200 ms (AWS's 3 s scaled would poll four times as often for nothing an assertion reads).
 */
const env = () => ({ ...faults.env(moto.env), ...packerPollingEnv(clock.clock), GILD_COPY_POLL_MS: gildPollingEnv(clock.clock).GILD_COPY_POLL_MS, GILD_SMOKE_POLL_MS: '200' });

async function gildAmis(region: string, image: string) {
  const { ec2 } = awsClients(moto.endpoint, region);
  const answer = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:gild:image', Values: [image] }] }));
  ec2.destroy();
  return answer.Images ?? [];
}

describe('gild copies to the other regions itself, beside the smoke test', () => {
  it('never copies a failing image, tests a passing one while its copies run, and builds its dependant from the tested AMI', async () => {
    const run = await project.gild(['run'], env());
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    expect(run.stdout + run.stderr).not.toMatch(/internal error/);

    // The failing image: nothing of it in any other region, and nothing left in its build region either.
    for (const region of copyRegions) expect((await gildAmis(region, 'copied-bad')).map((image) => `${image.ImageId} ${image.State}`)).toEqual([]);
    expect(await gildAmis('us-east-1', 'copied-bad')).toEqual([]);
    expect(clock.events.filter((event) => event.state === 'requested').length).toBeGreaterThan(0);

    // The passing image and its dependant: published in every region, each region naming its own copy.
    const starts = await stepStarts();
    for (const image of ['copied-ok', 'copied-child']) {
      const published: Record<string, string> = {};
      for (const region of ['us-east-1', ...copyRegions]) {
        const parameters = await parametersUnder(moto.endpoint, region, `/golden/${image}`);
        published[region] = parameters[`/golden/${image}/versions/1.0.0`]!;
        expect(published[region], `${image} versions/1.0.0 in ${region}`).toMatch(/^ami-/);
      }
      for (const region of copyRegions) {
        const [copy] = (await gildAmis(region, image)).filter((ami) => ami.ImageId === published[region]);
        const tags = Object.fromEntries((copy?.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
        expect(tags['gild:source-ami']).toBe(published['us-east-1']);
        expect(tags['gild:status']).toBe('published');
        expect(tags['gild:prefix'], 'a region copy belongs to the pipeline that made it').toBe('/golden');
        expect(clock.images.get(published[region]!)?.kind).toBe('copyImage');
      }
      // The overlap: the smoke test started before the copies were available.
      const copiesAvailable = Math.min(...(await Promise.all(copyRegions.map((region) => clock.waitFor(published[region]!, 'available')))).map((event) => event.at));
      expect(starts.get(`smoke:${image}`), `smoke:${image} started`).toBeLessThan(copiesAvailable);
      // …and the copies had been asked for before it passed.
      const copiesRequested = Math.max(...(await Promise.all(copyRegions.map((region) => clock.waitFor(published[region]!, 'requested')))).map((event) => event.at));
      expect(copiesRequested).toBeLessThan(starts.get(`passed:${image}`)!);
    }
    // The dependant started building before its base's copies were available, and published after its base.
    const baseCopiesAvailable = Math.min(
      ...(
        await Promise.all(copyRegions.map(async (region) => clock.waitFor((await parametersUnder(moto.endpoint, region, '/golden/copied-ok'))['/golden/copied-ok/versions/1.0.0']!, 'available')))
      ).map((event) => event.at),
    );
    expect(starts.get('build:copied-child')).toBeLessThan(baseCopiesAvailable);
    expect(starts.get('publish:copied-child')).toBeGreaterThan(starts.get('publish:copied-ok')!);
    expect(await liveGildInstances(moto.endpoint)).toEqual([]);
  });

  it('converges after SIGKILL while copying: the next run finds the copy it started, and copies nothing twice', async () => {
    const crashProject = await createTempProject({
      settings: (await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8')).replace('concurrency: 2,', "concurrency: 2,\n  regionCopies: 'gild',"),
      images: { 'copied-crash.ts': imageSource({ name: 'copied-crash', regions, extra: "smoke: { checks: [{ name: 'answers', run: 'true' }] }," }) },
    });
    try {
      const since = Date.now();
      const copyStarted = clock.waitForEvent((event) => event.at >= since && event.state === 'requested' && clock.images.get(event.resource)?.kind === 'copyImage');
      const child = crashProject.spawn(['run'], env());
      const ended = child.then((result) => result);
      const started = await Promise.race([copyStarted, ended.then((result) => Promise.reject(new Error(`gild ended before any copy started (exit ${result.exitCode}):\n${String(result.stdout)}`)))]);
      child.kill('SIGKILL');
      expect((await ended).signal).toBe('SIGKILL');

      const plan = await crashProject.gild(['plan'], env());
      expect(plan.stdout, plan.stderr).toMatch(/resume 1\.0\.0 from run/);
      const rerun = await crashProject.gild(['run'], env());
      expect(rerun.exitCode, rerun.stdout + rerun.stderr).toBe(0);
      expect(await convergenceViolations(moto.endpoint, { 'copied-crash': ['us-east-1', ...copyRegions] })).toEqual([]);

      // The copy the killed run started is the one published; no region was copied twice.
      const published = await Promise.all(copyRegions.map(async (region) => (await parametersUnder(moto.endpoint, region, '/golden/copied-crash'))['/golden/copied-crash/versions/1.0.0']));
      expect(published).toContain(started.resource);
      const copiesMade = [...clock.images].filter(([, image]) => image.kind === 'copyImage' && image.startedAt >= since).map(([amiId]) => amiId);
      expect(copiesMade.sort()).toEqual([...published].sort());
    } finally {
      await crashProject.remove();
    }
  });
});
