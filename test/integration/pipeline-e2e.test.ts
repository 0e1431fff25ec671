/**
 * The whole pipeline through the real CLI, real Packer and moto reached via
 * AWS_ENDPOINT_URL (not --local): what the acceptance checks run.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import semver from 'semver';
import { createTempProject, type TempProject } from '../support/project.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { imageState, liveGildInstances, parametersUnder, snapshotExists } from '../support/aws-state.ts';

const shipped = {
  'al2023-base': ['us-east-1', 'us-west-2'],
  'graviton-worker': ['us-east-1', 'eu-west-1'],
  nginx: ['us-east-1', 'us-west-2', 'eu-west-1'],
  'windows-2022': ['us-east-1'],
} as const;

describe('gild run over the shipped images', () => {
  let moto: MotoServer;
  let project: TempProject;

  beforeAll(async () => {
    moto = await startMoto();
    // The SSM Run Command stand-in in front of moto: debian-base's checks run in its container twin, the others' are not run.
    // moto answers at once: gild polls smoke instances and commands quickly, not at AWS's pace (docs/aws-clock.md).
    Object.assign(moto.env, { GILD_SSM_STAND_IN: '1', GILD_SMOKE_POLL_MS: '100' });
    project = await createTempProject({ shippedImages: true });
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });

  async function versionsOf(image: string, region: string): Promise<Record<string, string>> {
    const parameters = await parametersUnder(moto.endpoint, region, `/golden/${image}`);
    return Object.fromEntries(
      Object.entries(parameters)
        .filter(([name]) => name.includes('/versions/'))
        .map(([name, amiId]) => [name.split('/versions/')[1]!, amiId]),
    );
  }

  // Every shipped image is built, smoke-tested and published once, end to end (each kind: x86_64 and arm64 Linux, an
  // image built on another, Windows, the Debian twin). What later runs do to a published image is the same for every
  // image, so the forced rebuilds and the retirement they lead to are shown on one of them: nginx, in three regions,
  // built on al2023-base and nothing's base itself (a base's oldest AMI may still be the source of a dependant's).
  const rebuilt = 'nginx';

  it('publishes every image, plans a patch bump for each under --force, and bumps and retires one image over four runs', async () => {
    const first = await project.gild(['run'], moto.env);
    expect(first.stderr + first.stdout).not.toMatch(/internal error/);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);

    const firstVersions: Record<string, string> = {};
    for (const [image, regions] of Object.entries(shipped)) {
      for (const region of regions) {
        const versions = await versionsOf(image, region);
        expect(Object.keys(versions), `${image} in ${region}`).toHaveLength(1);
        firstVersions[image] = Object.keys(versions)[0]!;
      }
    }
    expect(firstVersions['nginx']).toBe('2.1.0');
    const firstAmis = Object.fromEntries(
      await Promise.all(
        Object.entries(shipped).map(async ([image, regions]) => [
          image,
          Object.fromEntries(await Promise.all(regions.map(async (region) => [region, (await versionsOf(image, region))[firstVersions[image]!]!]))),
        ]),
      ),
    );
    const firstSnapshots: Record<string, string[]> = {};
    for (const [image, regions] of Object.entries(shipped)) {
      for (const region of regions) {
        const state = await imageState(moto.endpoint, region, firstAmis[image][region]);
        expect(state?.tags).toMatchObject({ 'gild:image': image, 'gild:version': firstVersions[image], 'gild:status': 'published' });
        firstSnapshots[`${image}/${region}`] = state!.snapshotIds;
      }
    }

    // A plain run right after changes nothing.
    const unchanged = await project.gild(['run'], moto.env);
    expect(unchanged.exitCode).toBe(0);
    expect(unchanged.stdout).toMatch(/al2023-base: unchanged at 1\.0\.0/);

    // --force rebuilds every image, each at its next patch (the plan is what the run applies).
    const forcedPlan = await project.gild(['plan', '--force'], moto.env);
    expect(forcedPlan.exitCode, forcedPlan.stdout + forcedPlan.stderr).toBe(0);
    for (const image of Object.keys(shipped)) {
      const next = semver.inc(firstVersions[image]!, 'patch')!;
      expect(forcedPlan.stdout, image).toContain(`+ ${image}: build ${next} (after ${firstVersions[image]})`);
    }

    for (let run = 1; run <= 3; run++) {
      const forced = await project.gild(['run', '--force', rebuilt], moto.env);
      expect(forced.exitCode, forced.stdout + forced.stderr).toBe(0);
      const expected = semver.inc(firstVersions[rebuilt]!, 'patch')!.replace(/\d+$/, String(semver.patch(firstVersions[rebuilt]!) + run));
      for (const region of shipped[rebuilt]) {
        const versions = await versionsOf(rebuilt, region);
        const latest = (await parametersUnder(moto.endpoint, region, `/golden/${rebuilt}`))[`/golden/${rebuilt}/latest`];
        expect(latest, `${rebuilt} latest in ${region}`).toBe(versions[expected]);
        expect((await imageState(moto.endpoint, region, latest!))?.tags['gild:version']).toBe(expected);
        expect(Object.keys(versions).sort(semver.compare)).toEqual(
          Array.from({ length: Math.min(run + 1, 3) }, (_, index) => semver.inc(expected, 'patch')!.replace(/\d+$/, String(semver.patch(expected) - Math.min(run, 2) + index))),
        );
      }
    }

    // After four runs, its version 1 is gone everywhere: parameter, AMI and snapshots; the images not rebuilt keep theirs.
    for (const [image, regions] of Object.entries(shipped)) {
      for (const region of regions) {
        if (image === rebuilt) {
          expect(await versionsOf(image, region)).not.toHaveProperty(firstVersions[image]!);
          expect(await imageState(moto.endpoint, region, firstAmis[image][region])).toBeUndefined();
          for (const snapshotId of firstSnapshots[`${image}/${region}`]!) expect(await snapshotExists(moto.endpoint, region, snapshotId)).toBe(false);
        } else {
          expect(await versionsOf(image, region), `${image} in ${region}`).toEqual({ [firstVersions[image]!]: firstAmis[image][region] });
        }
      }
    }
    expect(await liveGildInstances(moto.endpoint)).toEqual([]);

    const resolved = await project.gild(['resolve', 'nginx', '--region', 'eu-west-1'], moto.env);
    expect(resolved.exitCode).toBe(0);
    expect(resolved.stdout.trim()).toBe((await parametersUnder(moto.endpoint, 'eu-west-1', '/golden/nginx'))['/golden/nginx/latest']);
  }, 600_000);
});

describe('gild refuses bad input with exit code 2 and publishes nothing', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => moto?.stop());
  beforeEach(async () => moto.reset());

  it('names every broken definition file at once', async () => {
    const project = await createTempProject({
      images: {
        'good.ts': (await import('../support/project.ts')).imageSource({ name: 'good' }),
        'syntax.ts': "import { defineImage } from 'gild';\nexport default defineImage({ name: 'syntax', ",
        'no-default.ts': "export const image = { name: 'no-default' };\n",
        'bad-fields.ts': (await import('../support/project.ts')).imageSource({ name: 'bad-fields', version: 'one', extra: "launchPermissions: { accounts: ['12345'] }," }),
      },
    });
    try {
      const result = await project.gild(['run'], moto.env);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('images/syntax.ts');
      expect(result.stderr).toContain('images/no-default.ts: has no default export');
      expect(result.stderr).toMatch(/images\/bad-fields\.ts: version: "one"/);
      expect(result.stderr).toMatch(/images\/bad-fields\.ts: launchPermissions\.accounts\[0\]: "12345" is not a 12-digit AWS account ID/);
      expect(await parametersUnder(moto.endpoint, 'us-east-1', '/golden')).toEqual({});
    } finally {
      await project.remove();
    }
  });

  it('names an unknown image and an unknown flag', async () => {
    const { imageSource } = await import('../support/project.ts');
    const project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web' }) } });
    try {
      const unknownImage = await project.gild(['run', 'nope'], moto.env);
      expect(unknownImage.exitCode).toBe(2);
      expect(unknownImage.stderr).toContain('Unknown image: "nope". Known images: web.');
      const unknownFlag = await project.gild(['run', '--frobnicate'], moto.env);
      expect(unknownFlag.exitCode).toBe(2);
      expect(unknownFlag.stderr).toContain("unknown option '--frobnicate'");
      const duplicate = await project.gild(['validate'], moto.env);
      expect(duplicate.exitCode).toBe(0);
      await project.writeImage('web-copy.ts', imageSource({ name: 'web' }));
      const duplicated = await project.gild(['run'], moto.env);
      expect(duplicated.exitCode).toBe(2);
      expect(duplicated.stderr).toMatch(/images\/web\.ts: name: "web" is already used by images\/web-copy\.ts|images\/web-copy\.ts: name: "web" is already used by images\/web\.ts/);
      expect(await parametersUnder(moto.endpoint, 'us-east-1', '/golden')).toEqual({});
    } finally {
      await project.remove();
    }
  });
});

describe('gild render', () => {
  it('writes a folder that Packer 1.6.6 validates and formats cleanly', async () => {
    const { execa } = await import('execa');
    const project = await createTempProject({ shippedImages: true });
    try {
      for (const image of Object.keys(shipped)) {
        const rendered = await project.gild(['render', image, '--out', `out/${image}`], {});
        expect(rendered.exitCode, rendered.stderr).toBe(0);
        const validate = await execa('packer', ['validate', '.'], { cwd: `${project.dir}/out/${image}`, reject: false });
        expect(validate.exitCode, `${image}: ${validate.stdout}${validate.stderr}`).toBe(0);
        const fmt = await execa('packer', ['fmt', '-check', '.'], { cwd: `${project.dir}/out/${image}`, reject: false });
        expect(fmt.exitCode, `${image}: ${fmt.stdout}${fmt.stderr}`).toBe(0);
      }
    } finally {
      await project.remove();
    }
  });
});
