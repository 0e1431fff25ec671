/**
 * The lifecycle after publish, through the real CLI on moto: the `v<major>`
 * line moves with every publish in every region, channels do not, and
 * `gild retire` retires what the policy says without building anything.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClients, imageState, parametersUnder } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

const regions = ['us-east-1', 'us-west-2'] as const;

describe('major lines, channels and gild retire', () => {
  let moto: MotoServer;
  let project: TempProject;

  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web' }) } });
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });

  const gild = async (args: string[]) => {
    const result = await project.gild(args, { ...moto.env, GILD_SMOKE_POLL_MS: '100' });
    expect(result.stderr + result.stdout).not.toMatch(/internal error/);
    return result;
  };
  const pointers = (region: string) => parametersUnder(moto.endpoint, region, '/golden/web');

  it('moves v1 with latest on every publish, in every region, as aws:ec2:image; leaves channels alone', async () => {
    expect((await gild(['run'])).exitCode).toBe(0);
    expect((await gild(['run', '--force'])).exitCode).toBe(0);
    for (const region of regions) {
      const parameters = await pointers(region);
      expect(parameters['/golden/web/v1'], region).toBe(parameters['/golden/web/versions/1.0.1']);
      expect(parameters['/golden/web/latest'], region).toBe(parameters['/golden/web/versions/1.0.1']);
      expect(Object.keys(parameters).filter((name) => name.includes('/channels/')), region).toEqual([]);
      const { ssm } = awsClients(moto.endpoint, region);
      const v1 = await ssm.send(new GetParameterCommand({ Name: '/golden/web/v1' }));
      expect(v1.Parameter?.DataType).toBe('aws:ec2:image');
    }
  });

  it('gild retire --dry-run shows what a lowered keep retires and changes nothing; gild retire then retires it', async () => {
    const settingsFile = path.join(project.dir, 'pipeline/settings.ts');
    await writeFile(settingsFile, (await readFile(settingsFile, 'utf8')).replace('retention: { keep: 3 }', 'retention: { keep: 1 }'));
    const before = await pointers('us-west-2');
    const oldAmi = before['/golden/web/versions/1.0.0']!;
    expect(oldAmi).toMatch(/^ami-/);

    const dryRun = await gild(['retire', '--dry-run']);
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toMatch(/retire \(deregister\) 1\.0\.0 in us-west-2/);
    expect(dryRun.stdout).not.toMatch(/^\s+(build|smoke test|publish) /m);
    expect(dryRun.stdout).toContain('Dry run: nothing was changed.');
    expect(await pointers('us-west-2')).toEqual(before);

    const retired = await gild(['retire', 'web']);
    expect(retired.exitCode, retired.stdout + retired.stderr).toBe(0);
    for (const region of regions) {
      const parameters = await pointers(region);
      expect(parameters, region).not.toHaveProperty('/golden/web/versions/1.0.0');
      expect(parameters['/golden/web/latest'], region).toBe(parameters['/golden/web/versions/1.0.1']);
      expect(parameters['/golden/web/v1'], region).toBe(parameters['/golden/web/versions/1.0.1']);
    }
    expect(await imageState(moto.endpoint, 'us-west-2', oldAmi)).toBeUndefined();

    const again = await gild(['retire']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('Nothing to retire.');
  });

  it('gild history still shows the retired version, from AMI tags and parameter history', async () => {
    const shown = await gild(['history', 'web', '--json']);
    expect(shown.exitCode, shown.stderr).toBe(0);
    const { versions } = JSON.parse(shown.stdout) as { versions: { version: string; status: string; amis: Record<string, string>; smoke: string; gitCommit?: string; events: { what: string }[] }[] };
    expect(versions.map((version) => [version.version, version.status])).toEqual([
      ['1.0.1', 'published'],
      ['1.0.0', 'retired'],
    ]);
    const [newest, retired] = versions;
    expect(newest!.smoke).toBe('passed');
    expect(Object.keys(newest!.amis).sort()).toEqual([...regions]);
    expect(Object.keys(retired!.amis).sort()).toEqual([...regions]);
    expect(retired!.events.map((event) => event.what)).toEqual(expect.arrayContaining(['latest → 1.0.0 in us-east-1', 'latest → 1.0.0 in us-west-2', 'v1 → 1.0.0 in us-west-2']));
    const text = await gild(['history', 'web']);
    expect(text.stdout).toMatch(/1\.0\.0 {2}retired/);
  });
});

describe('promote, rollback and release', () => {
  let moto: MotoServer;
  let project: TempProject;

  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({ images: { 'api.ts': imageSource({ name: 'api' }) } });
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });

  const gild = async (args: string[]) => {
    const result = await project.gild(args, { ...moto.env, GILD_SMOKE_POLL_MS: '100' });
    expect(result.stderr + result.stdout).not.toMatch(/internal error/);
    return result;
  };
  const parameters = (region: string) => parametersUnder(moto.endpoint, region, '/golden/api');
  const pointsTo = async (pointer: string, version: string) => {
    for (const region of regions) {
      const found = await parameters(region);
      expect(found[`/golden/api/${pointer}`], `${pointer} in ${region}`).toBe(found[`/golden/api/versions/${version}`]);
    }
  };

  it('promotes to a declared channel, and refuses what is not published or not a channel', async () => {
    expect((await gild(['run'])).exitCode).toBe(0);
    expect((await gild(['run', '--force'])).exitCode).toBe(0);

    const unknownVersion = await gild(['promote', 'api', '--version', '9.9.9', '--to', 'stable']);
    expect(unknownVersion.exitCode).toBe(2);
    expect(unknownVersion.stderr).toMatch(/api 9\.9\.9 is not published \(published: 1\.0\.1, 1\.0\.0\)/);
    const unknownChannel = await gild(['promote', 'api', '--to', 'beta']);
    expect(unknownChannel.exitCode).toBe(2);
    expect(unknownChannel.stderr).toMatch(/"beta" is not a channel in pipeline\/settings\.ts \(declared: stable\)/);

    const promoted = await gild(['promote', 'api', '--to', 'stable']);
    expect(promoted.exitCode, promoted.stdout + promoted.stderr).toBe(0);
    await pointsTo('channels/stable', '1.0.1');
    const older = await gild(['promote', 'api', '--version', '1.0.0', '--to', 'stable']);
    expect(older.exitCode, older.stdout + older.stderr).toBe(0);
    await pointsTo('channels/stable', '1.0.0');
  });

  it('holds a rollback across two nightly runs until release', async () => {
    const dryRun = await gild(['rollback', 'api', '--reason', 'kernel panic on boot', '--dry-run']);
    expect(dryRun.exitCode).toBe(0);
    expect(dryRun.stdout).toMatch(/move latest to 1\.0\.0/);
    await pointsTo('latest', '1.0.1');

    const rolledBack = await gild(['rollback', 'api', '--reason', 'kernel panic on boot']);
    expect(rolledBack.exitCode, rolledBack.stdout + rolledBack.stderr).toBe(0);
    await pointsTo('latest', '1.0.0');
    const hold = JSON.parse((await parameters('us-east-1'))['/golden/api/holds/latest']!);
    expect(hold).toMatchObject({ version: '1.0.0', reason: 'kernel panic on boot' });

    const plan = await gild(['plan']);
    expect(plan.stdout).toMatch(/= api: unchanged at 1\.0\.1 .*latest held at 1\.0\.0 by rollback on \d{4}-\d\d-\d\d: kernel panic on boot/);
    for (let night = 1; night <= 2; night++) {
      const nightly = await gild(['run']);
      expect(nightly.exitCode, nightly.stdout + nightly.stderr).toBe(0);
      expect(nightly.stdout).not.toMatch(/api 1\.0\.2 published/);
      await pointsTo('latest', '1.0.0');
      await pointsTo('v1', '1.0.1');
    }

    const released = await gild(['release', 'api']);
    expect(released.exitCode, released.stdout + released.stderr).toBe(0);
    expect(await parameters('us-east-1')).not.toHaveProperty('/golden/api/holds/latest');
    const again = await gild(['release', 'api']);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/latest of api is not held; nothing to release/);

    expect((await gild(['run'])).exitCode).toBe(0);
    await pointsTo('latest', '1.0.1');

    const history = JSON.parse((await gild(['history', 'api', '--json'])).stdout) as { versions: { version: string; events: { what: string }[] }[] };
    const events = (version: string) => history.versions.find((candidate) => candidate.version === version)!.events.map((event) => event.what);
    expect(events('1.0.1')).toEqual(expect.arrayContaining(['channels/stable → 1.0.1 in us-east-1', 'latest → 1.0.1 in us-west-2']));
    expect(events('1.0.0')).toEqual(expect.arrayContaining(['channels/stable → 1.0.0 in us-west-2', 'latest → 1.0.0 in us-east-1']));
    expect(events('1.0.0').filter((what) => what === 'latest → 1.0.0 in us-east-1')).toHaveLength(2);
  });
});

describe('revoke', () => {
  let moto: MotoServer;
  let project: TempProject;

  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({
      images: { 'api.ts': imageSource({ name: 'api' }), 'app.ts': imageSource({ name: 'app', base: "{ image: 'api', range: '^1' }", regions: "{ build: 'us-east-1' }" }) },
    });
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });

  const gild = async (args: string[]) => {
    const result = await project.gild(args, { ...moto.env, GILD_SMOKE_POLL_MS: '100' });
    expect(result.stderr + result.stdout).not.toMatch(/internal error/);
    return result;
  };
  const parameters = (region: string) => parametersUnder(moto.endpoint, region, '/golden/api');

  it('moves latest, a channel and the major line off the revoked version in both regions, tags it, and rebuilds what was built on it', async () => {
    expect((await gild(['run', 'api'])).exitCode).toBe(0);
    expect((await gild(['run', 'api', '--force'])).exitCode).toBe(0);
    expect((await gild(['promote', 'api', '--to', 'stable'])).exitCode).toBe(0);
    expect((await gild(['run', 'app'])).exitCode).toBe(0);
    const revokedAmis = Object.fromEntries(await Promise.all(regions.map(async (region) => [region, (await parameters(region))['/golden/api/versions/1.0.1']!] as const)));

    const revoked = await gild(['revoke', 'api', '1.0.1', '--reason', 'CVE-2026-0001 in openssl']);
    expect(revoked.exitCode, revoked.stdout + revoked.stderr).toBe(0);
    expect(revoked.stderr).toMatch(/the emulator has no EnableImageDeprecation: .* is only tagged revoked/);
    for (const region of regions) {
      const found = await parameters(region);
      const good = found['/golden/api/versions/1.0.0'];
      for (const pointer of ['latest', 'v1', 'channels/stable']) expect(found[`/golden/api/${pointer}`], `${pointer} in ${region}`).toBe(good);
      expect((await imageState(moto.endpoint, region, revokedAmis[region]!))?.tags).toMatchObject({ 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE-2026-0001 in openssl' });
    }

    const refused = await gild(['promote', 'api', '--version', '1.0.1', '--to', 'stable']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/api 1\.0\.1 is revoked \(CVE-2026-0001 in openssl\)/);

    const plan = await gild(['plan']);
    expect(plan.stdout).toMatch(/= api: unchanged at/);
    expect(plan.stdout).toMatch(/\+ app: build 1\.0\.1 .*its base api 1\.0\.1 was revoked \(CVE-2026-0001 in openssl\)/);
    expect(plan.stdout).toMatch(/build 1\.0\.1 in us-east-1 from ami-\w+ \(image:api@\^1 → 1\.0\.0\)/);
  });
});
