/**
 * The lifecycle after publish, through the real CLI on moto: the `v<major>`
 * line moves with every publish in every region, channels do not, and
 * `gild retire` retires what the policy says without building anything.
 * Each changing command's report (`--json` on stdout, and report.json beside
 * it) matches the report schema and says what it did.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateLaunchTemplateCommand, DeleteTagsCommand, DescribeImageAttributeCommand, ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReportSchema, type ImageReport, type RunReport } from '../../src/report/report-schema.ts';
import { awsClients, imageState, parametersUnder } from '../support/aws-state.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { planPrintedBy } from '../support/lifecycle-printed-plan.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

const regions = ['us-east-1', 'us-west-2'] as const;

/** The report `--json` printed, checked against the schema and against the report.json and report.md the command wrote. */
async function reportOf(project: TempProject, result: { stdout: string }): Promise<RunReport & { images: [ImageReport] }> {
  const printed = runReportSchema.parse(JSON.parse(result.stdout));
  const runDir = path.join(project.dir, '.gild/runs', printed.runId);
  expect(runReportSchema.parse(JSON.parse(await readFile(path.join(runDir, 'report.json'), 'utf8')))).toEqual(printed);
  expect(await readFile(path.join(runDir, 'report.md'), 'utf8')).toContain(`## gild ${printed.commandName} \`${printed.runId}\`: ${printed.result}`);
  expect(printed.images).toHaveLength(1);
  return printed as RunReport & { images: [ImageReport] };
}

/** `<region> <pointer>: <from version> → <to version>`, sorted. */
const movesOf = (image: ImageReport) => (image.pointersMoved ?? []).map((move) => `${move.region} ${move.pointer}: ${move.fromVersion ?? '-'} → ${move.toVersion}`).sort();

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
      expect(
        Object.keys(parameters).filter((name) => name.includes('/channels/')),
        region,
      ).toEqual([]);
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

    const retired = await gild(['retire', 'web', '--json']);
    expect(retired.exitCode, retired.stdout + retired.stderr).toBe(0);
    const report = await reportOf(project, retired);
    expect(report).toMatchObject({ commandName: 'retire', command: 'gild retire web --json', result: 'succeeded', counts: { changed: 1 } });
    const [web] = report.images;
    expect(web).toMatchObject({ image: 'web', result: 'changed', stageReached: 'retire', pointersMoved: [], holds: [], revoked: [] });
    expect(web.retired.map((entry) => `${entry.version} ${entry.region} ${entry.phase}`).sort()).toEqual(['1.0.0 us-east-1 deregister', '1.0.0 us-west-2 deregister']);
    expect(web.retired.find((entry) => entry.region === 'us-west-2')?.amiId).toBe(oldAmi);
    expect(web.retired.every((entry) => entry.reason.length > 0)).toBe(true);
    expect(retired.stderr).toMatch(/Report: \.gild\/runs\/.+\/report\.md/);
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
    const nothing = await readFile(path.join(project.dir, /Report: (\S+report\.md)/.exec(again.stdout)![1]!), 'utf8');
    expect(nothing).toMatch(/^## gild retire `.+`: succeeded\n\n`gild retire` · 1 unchanged/);
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
    // On moto no check of this image runs (no container twin), so its smoke test was skipped: said, never a pass.
    expect(newest!.smoke).toBe('skipped');
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

    const promoted = await gild(['promote', 'api', '--to', 'stable', '--json']);
    expect(promoted.exitCode, promoted.stdout + promoted.stderr).toBe(0);
    await pointsTo('channels/stable', '1.0.1');
    const promotion = await reportOf(project, promoted);
    expect(promotion).toMatchObject({ commandName: 'promote', result: 'succeeded', images: [{ image: 'api', action: 'change', result: 'changed', stageReached: 'repoint' }] });
    expect(movesOf(promotion.images[0])).toEqual(['us-east-1 channels/stable: - → 1.0.1', 'us-west-2 channels/stable: - → 1.0.1']);
    const stable = await parameters('us-west-2');
    expect(promotion.images[0].parametersWritten).toContainEqual({ region: 'us-west-2', name: '/golden/api/channels/stable', value: stable['/golden/api/channels/stable'] });
    const older = await gild(['promote', 'api', '--version', '1.0.0', '--to', 'stable', '--json']);
    expect(older.exitCode, older.stdout + older.stderr).toBe(0);
    await pointsTo('channels/stable', '1.0.0');
    const demotion = (await reportOf(project, older)).images[0];
    expect(movesOf(demotion)).toEqual(['us-east-1 channels/stable: 1.0.1 → 1.0.0', 'us-west-2 channels/stable: 1.0.1 → 1.0.0']);
    expect(demotion.pointersMoved!.find((move) => move.region === 'us-west-2')).toMatchObject({ from: stable['/golden/api/channels/stable'], to: stable['/golden/api/versions/1.0.0'] });
  });

  it('holds a rollback across two nightly runs until release', async () => {
    const dryRun = await gild(['rollback', 'api', '--reason', 'kernel panic on boot', '--dry-run']);
    expect(dryRun.exitCode).toBe(0);
    expect(dryRun.stdout).toMatch(/move latest to 1\.0\.0/);
    await pointsTo('latest', '1.0.1');

    const rolledBack = await gild(['rollback', 'api', '--reason', 'kernel panic on boot', '--json']);
    expect(rolledBack.exitCode, rolledBack.stdout + rolledBack.stderr).toBe(0);
    await pointsTo('latest', '1.0.0');
    const rollback = await reportOf(project, rolledBack);
    expect(rollback).toMatchObject({ commandName: 'rollback', command: "gild rollback api --reason 'kernel panic on boot' --json", result: 'succeeded' });
    // v1 named the same bad version: it rolls back with latest, and both are held.
    expect(movesOf(rollback.images[0])).toEqual(['us-east-1 latest: 1.0.1 → 1.0.0', 'us-east-1 v1: 1.0.1 → 1.0.0', 'us-west-2 latest: 1.0.1 → 1.0.0', 'us-west-2 v1: 1.0.1 → 1.0.0']);
    expect(rollback.images[0]).toMatchObject({
      result: 'changed',
      holds: [
        { pointer: 'latest', region: 'us-east-1', parameterName: '/golden/api/holds/latest', change: 'placed', version: '1.0.0', reason: 'kernel panic on boot' },
        { pointer: 'v1', region: 'us-east-1', parameterName: '/golden/api/holds/v1', change: 'placed', version: '1.0.0', reason: 'kernel panic on boot' },
      ],
    });
    const hold = JSON.parse((await parameters('us-east-1'))['/golden/api/holds/latest']!);
    expect(hold).toMatchObject({ version: '1.0.0', reason: 'kernel panic on boot' });

    for (let night = 1; night <= 2; night++) {
      const nightly = await gild(['run']);
      expect(nightly.exitCode, nightly.stdout + nightly.stderr).toBe(0);
      // What each nightly run planned: nothing to build, and the hold said.
      expect(planPrintedBy(nightly)).toMatch(/= api: unchanged at 1\.0\.1 .*latest held at 1\.0\.0 by rollback on \d{4}-\d\d-\d\d: kernel panic on boot/);
      expect(nightly.stdout).not.toMatch(/api 1\.0\.2 published/);
      await pointsTo('latest', '1.0.0');
      await pointsTo('v1', '1.0.0');
    }

    const released = await gild(['release', 'api', '--json']);
    expect(released.exitCode, released.stdout + released.stderr).toBe(0);
    const release = await reportOf(project, released);
    expect(release).toMatchObject({ commandName: 'release', result: 'succeeded' });
    expect(release.images[0]).toMatchObject({
      result: 'changed',
      pointersMoved: [],
      holds: [
        { pointer: 'latest', change: 'removed', version: '1.0.0', reason: 'kernel panic on boot' },
        { pointer: 'v1', change: 'removed', version: '1.0.0', reason: 'kernel panic on boot' },
      ],
    });
    expect(await parameters('us-east-1')).not.toHaveProperty('/golden/api/holds/latest');
    expect(await parameters('us-east-1')).not.toHaveProperty('/golden/api/holds/v1');
    const again = await gild(['release', 'api']);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/latest of api is not held; nothing to release/);

    // The catch-up: the next run moves both back to the newest version, building nothing.
    const caughtUp = await gild(['run']);
    expect(caughtUp.exitCode).toBe(0);
    expect(caughtUp.stdout).not.toMatch(/api 1\.0\.2 published/);
    await pointsTo('latest', '1.0.1');
    await pointsTo('v1', '1.0.1');

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
    const appAmi = (await parametersUnder(moto.endpoint, 'us-east-1', '/golden/app'))['/golden/app/versions/1.0.0']!;

    const revoked = await gild(['revoke', 'api', '1.0.1', '--reason', 'CVE-2026-0001 in openssl', '--json']);
    expect(revoked.exitCode, revoked.stdout + revoked.stderr).toBe(0);
    const revocation = await reportOf(project, revoked);
    expect(revocation).toMatchObject({ commandName: 'revoke', result: 'succeeded', images: [{ image: 'api', result: 'changed', stageReached: 'revoke' }] });
    expect(movesOf(revocation.images[0])).toEqual(regions.flatMap((region) => ['channels/stable', 'latest', 'v1'].map((pointer) => `${region} ${pointer}: 1.0.1 → 1.0.0`)).sort());
    expect(revocation.images[0].revoked).toEqual(
      expect.arrayContaining(regions.map((region) => ({ region, amiId: revokedAmis[region], version: '1.0.1', reason: 'CVE-2026-0001 in openssl', disable: false }))),
    );
    expect(revocation.images[0].revoked).toHaveLength(2);
    expect(revoked.stderr).toMatch(/the emulator has no EnableImageDeprecation: .* is only tagged revoked/);
    for (const region of regions) {
      const found = await parameters(region);
      const good = found['/golden/api/versions/1.0.0'];
      for (const pointer of ['latest', 'v1', 'channels/stable']) expect(found[`/golden/api/${pointer}`], `${pointer} in ${region}`).toBe(good);
      expect((await imageState(moto.endpoint, region, revokedAmis[region]!))?.tags).toMatchObject({ 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE-2026-0001 in openssl' });
    }

    // The app built on it is marked, not revoked: its team sees it in the tags, the history and the report.
    expect((await imageState(moto.endpoint, 'us-east-1', appAmi))?.tags).toMatchObject({ 'gild:status': 'published', 'gild:base-revoked': 'api 1.0.1: CVE-2026-0001 in openssl' });
    expect(revocation.images[0].summary).toContain(`marked app 1.0.0 in us-east-1 (${appAmi}): built on the revoked api 1.0.1`);
    expect((await gild(['history', 'app'])).stdout).toMatch(/1\.0\.0 {2}published\n {4}built on a revoked base: api 1\.0\.1: CVE-2026-0001 in openssl/);

    const refused = await gild(['promote', 'api', '--version', '1.0.1', '--to', 'stable']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/api 1\.0\.1 is revoked \(CVE-2026-0001 in openssl\)/);

    const plan = await gild(['plan']);
    expect(plan.stdout).toMatch(/= api: unchanged at/);
    expect(plan.stdout).toMatch(/\+ app: build 1\.0\.1 .*its base api 1\.0\.1 was revoked \(CVE-2026-0001 in openssl\)/);
    expect(plan.stdout).toMatch(/build 1\.0\.1 in us-east-1 from ami-\w+ \(image:api@\^1 → 1\.0\.0\)/);
  });

  it('a gild run finishes the marks of a revoke that stopped before making them: planned with their reason, made under the revoked image’s lock, building nothing', async () => {
    const appAmi = (await parametersUnder(moto.endpoint, 'us-east-1', '/golden/app'))['/golden/app/versions/1.0.0']!;
    // What a revoke killed after its record, its pointer moves and its deprecation leaves: every part done but the mark.
    await awsClients(moto.endpoint, 'us-east-1').ec2.send(new DeleteTagsCommand({ Resources: [appAmi], Tags: [{ Key: 'gild:base-revoked' }] }));

    const nightly = await gild(['run', 'api', '--json']);
    expect(nightly.exitCode, nightly.stdout + nightly.stderr).toBe(0);
    // The plan the run printed before applying it (on stderr: --json keeps stdout for the report).
    const plan = planPrintedBy({ stdout: nightly.stderr });
    expect(plan).toMatch(/= api: unchanged at 1\.0\.0 — .*; and finish the revoke of 1\.0\.1: mark what was built on it gild:base-revoked/);
    expect(plan).toContain(`mark app 1.0.0 in us-east-1: tag ${appAmi} gild:base-revoked (built on the revoked api 1.0.1) — finish the revoke that stopped half-way: app 1.0.0 is built on`);
    const report = runReportSchema.parse(JSON.parse(nightly.stdout));
    expect(report.images[0]).toMatchObject({ image: 'api', result: 'unchanged', summary: [`marked app 1.0.0 in us-east-1 (${appAmi}): built on the revoked api 1.0.1`] });
    expect((await imageState(moto.endpoint, 'us-east-1', appAmi))?.tags['gild:base-revoked']).toBe('api 1.0.1: CVE-2026-0001 in openssl');
    expect((await gild(['plan', 'api'])).stdout).not.toContain('mark app');
  });

  it('revoke --cascade revokes what was built on the version too, in one plan shown by --dry-run: app moves to its newest version not built on it', async () => {
    expect((await gild(['run', 'app'])).exitCode).toBe(0);
    expect((await gild(['run', 'api', '--force'])).exitCode).toBe(0);
    expect((await gild(['run', 'app'])).exitCode).toBe(0);
    const app = () => parametersUnder(moto.endpoint, 'us-east-1', '/golden/app');
    const before = await app();
    expect(before['/golden/app/latest']).toBe(before['/golden/app/versions/1.0.2']);

    const dryRun = await gild(['revoke', 'api', '1.0.2', '--reason', 'bad kernel', '--cascade', '--dry-run']);
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toMatch(/~ app: --cascade: revoke app 1\.0\.2, built on the revoked api 1\.0\.2/);
    expect(dryRun.stdout).toMatch(/revoke 1\.0\.2 in us-east-1: tag ami-\w+ gild:status=revoked/);
    expect(dryRun.stdout).toMatch(/move latest to 1\.0\.1: us-east-1 /);
    expect(dryRun.stdout).toContain('Dry run: nothing was changed.');
    expect(await app()).toEqual(before);

    const cascaded = await gild(['revoke', 'api', '1.0.2', '--reason', 'bad kernel', '--cascade']);
    expect(cascaded.exitCode, cascaded.stdout + cascaded.stderr).toBe(0);
    const after = await app();
    expect(after['/golden/app/latest']).toBe(after['/golden/app/versions/1.0.1']);
    expect(after['/golden/app/v1']).toBe(after['/golden/app/versions/1.0.1']);
    expect((await imageState(moto.endpoint, 'us-east-1', before['/golden/app/versions/1.0.2']!))?.tags).toMatchObject({
      'gild:status': 'revoked',
      'gild:revoked-reason': 'its base api 1.0.2 was revoked: bad kernel',
      'gild:base-revoked': 'api 1.0.2: bad kernel',
    });
    const resolved = await gild(['resolve', 'app', '--version', '1.0.2']);
    expect(resolved.exitCode).toBe(1);
    expect(resolved.stderr).toMatch(/EREVOKED|revoked/);
  });

  it("gild restore takes the revoke's mark off what was built on the version, and only off that: status and history no longer call it built on a revoked base", async () => {
    const app = await parametersUnder(moto.endpoint, 'us-east-1', '/golden/app');
    const onRestored = app['/golden/app/versions/1.0.0']!;
    const onStillRevoked = app['/golden/app/versions/1.0.2']!;
    const { ec2 } = awsClients(moto.endpoint, 'us-east-1');
    await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'app-lt', LaunchTemplateData: { ImageId: onRestored } }));
    expect((await gild(['status'])).stdout).toMatch(new RegExp(`BUILT ON A REVOKED BASE, IN USE[^\\n]*\\n(  ! .*\\n)*  ! app 1\\.0\\.0 us-east-1 ${onRestored}`));

    const dryRun = await gild(['restore', 'api', '1.0.1', '--reason', 'not affected', '--dry-run']);
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain(`un-mark app 1.0.0 in us-east-1: delete gild:base-revoked from ${onRestored} (api 1.0.1 is restored)`);
    expect(dryRun.stdout).not.toContain('un-mark app 1.0.2');
    expect((await imageState(moto.endpoint, 'us-east-1', onRestored))?.tags['gild:base-revoked']).toBe('api 1.0.1: CVE-2026-0001 in openssl');

    const restored = await gild(['restore', 'api', '1.0.1', '--reason', 'not affected']);
    expect(restored.exitCode, restored.stdout + restored.stderr).toBe(0);
    expect((await imageState(moto.endpoint, 'us-east-1', onRestored))?.tags['gild:base-revoked']).toBeUndefined();
    expect((await imageState(moto.endpoint, 'us-east-1', onStillRevoked))?.tags['gild:base-revoked']).toBe('api 1.0.2: bad kernel');
    expect((await gild(['status'])).stdout).not.toMatch(/BUILT ON A REVOKED BASE/);
    expect((await gild(['history', 'app'])).stdout).not.toMatch(/1\.0\.0 {2}published\n {4}built on a revoked base/);
  });
});

describe('restore', () => {
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
  const parameters = (region: string) => parametersUnder(moto.endpoint, region, '/golden/web');

  it('undoes a revoke: resolvable and tagged published again, latest and v1 back on it in every region, the revoke and the restore in the history', async () => {
    expect((await gild(['run'])).exitCode).toBe(0);
    expect((await gild(['run', '--force'])).exitCode).toBe(0);
    const published = Object.fromEntries(await Promise.all(regions.map(async (region) => [region, await parameters(region)] as const)));
    expect((await gild(['revoke', 'web', '1.0.1', '--reason', 'looked broken'])).exitCode).toBe(0);
    const revoked = Object.fromEntries(await Promise.all(regions.map(async (region) => [region, await parameters(region)] as const)));
    expect(revoked['us-east-1']!['/golden/web/latest']).toBe(published['us-east-1']!['/golden/web/versions/1.0.0']);
    expect(revoked['us-east-1']!['/golden/web/status/1.0.1']).toBeDefined();

    const dryRun = await gild(['restore', 'web', '1.0.1', '--reason', 'false alarm', '--dry-run']);
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toMatch(/~ web: restore 1\.0\.1, revoked by .* \(looked broken\): false alarm/);
    expect(dryRun.stdout).toMatch(/restore 1\.0\.1 in us-east-1: record the restore in the ledger/);
    expect(dryRun.stdout).toMatch(/move latest to 1\.0\.1/);
    expect(dryRun.stdout).toMatch(/move v1 to 1\.0\.1/);
    expect(dryRun.stdout).toContain('Dry run: nothing was changed.');
    for (const region of regions) expect(await parameters(region)).toEqual(revoked[region]);

    const restored = await gild(['restore', 'web', '1.0.1', '--reason', 'false alarm', '--json']);
    expect(restored.exitCode, restored.stdout + restored.stderr).toBe(0);
    const report = await reportOf(project, restored);
    expect(report).toMatchObject({ commandName: 'restore', result: 'succeeded', images: [{ image: 'web', result: 'changed', stageReached: 'restore' }] });
    expect(movesOf(report.images[0])).toEqual(regions.flatMap((region) => ['latest', 'v1'].map((pointer) => `${region} ${pointer}: 1.0.0 → 1.0.1`)).sort());
    for (const region of regions) {
      const now = await parameters(region);
      const amiId = published[region]!['/golden/web/versions/1.0.1']!;
      expect(now['/golden/web/latest'], region).toBe(amiId);
      expect(now['/golden/web/v1'], region).toBe(amiId);
      expect(now['/golden/web/status/1.0.1'], region).toBeUndefined();
      const tags = (await imageState(moto.endpoint, region, amiId))!.tags;
      expect(tags).toMatchObject({ 'gild:status': 'published', 'gild:restored-reason': 'false alarm' });
      expect(Object.keys(tags).filter((key) => key.startsWith('gild:revoked-') || key === 'gild:deprecated-at')).toEqual([]);
    }
    expect(await gild(['resolve', 'web', '--version', '1.0.1', '--region', 'us-west-2'])).toMatchObject({ exitCode: 0, stdout: published['us-west-2']!['/golden/web/versions/1.0.1'] });
    const history = (await gild(['history', 'web'])).stdout;
    expect(history).toMatch(/1\.0\.1 {2}published\n/);
    expect(history).toMatch(/revoked by .*: looked broken\n.*restored by .*: false alarm/);

    const again = await gild(['restore', 'web', '1.0.1', '--reason', 'twice']);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/web 1\.0\.1 was already restored \(by .*: false alarm\)/);
  });

  it('refuses when the AMI is gone in a region, and says what could bring it back', async () => {
    expect((await gild(['revoke', 'web', '1.0.1', '--reason', 'really broken'])).exitCode).toBe(0);
    const westAmi = (await parameters('us-west-2'))['/golden/web/versions/1.0.1']!;
    const { ec2 } = awsClients(moto.endpoint, 'us-west-2');
    const { DeregisterImageCommand } = await import('@aws-sdk/client-ec2');
    await ec2.send(new DeregisterImageCommand({ ImageId: westAmi }));

    const refused = await gild(['restore', 'web', '1.0.1', '--reason', 'want it back']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/web 1\.0\.1 cannot be restored: its AMI is gone in us-west-2 .*retention\.keepRevokedDays.*us-west-2: this target has no Recycle Bin \(ListImagesInRecycleBin\)/);
    expect((await parameters('us-east-1'))['/golden/web/status/1.0.1']).toBeDefined();
  });
});

describe('restore after revoke --disable', () => {
  const consumer = '111122223333';
  let moto: MotoServer;
  let project: TempProject;

  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', extra: `launchPermissions: { accounts: ['${consumer}'] },` }) } });
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
  const launchers = (region: string, amiId: string) => launchersOf(moto.endpoint, region, amiId);

  it('shares the restored AMI with the accounts the definition names again before latest moves back to it', async () => {
    const amis = await publishTwice(gild, moto.endpoint);
    for (const region of regions) expect(await launchers(region, amis[region]!), region).toEqual([{ UserId: consumer }]);
    expect((await gild(['revoke', 'web', '1.0.1', '--reason', 'looked broken', '--disable'])).exitCode).toBe(0);
    // NOTE: moto has no DisableImage (docs: EMULATOR.md), so the revoke only tagged the AMIs disabled and their launch
    // permissions are still there. On AWS, DisableImage withdraws every one, and EnableImage gives none back: that is
    // done here by hand, so the restore meets what it meets on AWS.
    for (const region of regions) {
      await awsClients(moto.endpoint, region).ec2.send(new ModifyImageAttributeCommand({ ImageId: amis[region]!, LaunchPermission: { Remove: [{ UserId: consumer }] } }));
      expect(await launchers(region, amis[region]!), region).toEqual([]);
    }

    const dryRun = await gild(['restore', 'web', '1.0.1', '--reason', 'false alarm', '--dry-run']);
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    for (const region of regions) expect(dryRun.stdout).toMatch(new RegExp(`share 1\\.0\\.1 in ${region} — 1\\.0\\.1 is restored; DisableImage .* share with account ${consumer}`));
    const printed = dryRun.stdout.split('\n');
    const lineOf = (pattern: RegExp) => printed.findIndex((line) => pattern.test(line));
    expect(lineOf(/share 1\.0\.1 in us-west-2/)).toBeGreaterThan(lineOf(/restore 1\.0\.1 in us-west-2/));
    expect(lineOf(/move latest to 1\.0\.1/)).toBeGreaterThan(lineOf(/share 1\.0\.1 in us-west-2/));
    for (const region of regions) expect(await launchers(region, amis[region]!), region).toEqual([]);

    const restored = await gild(['restore', 'web', '1.0.1', '--reason', 'false alarm']);
    expect(restored.exitCode, restored.stdout + restored.stderr).toBe(0);
    for (const region of regions) {
      expect(await launchers(region, amis[region]!), region).toEqual([{ UserId: consumer }]);
      expect((await parametersUnder(moto.endpoint, region, '/golden/web'))['/golden/web/latest'], region).toBe(amis[region]);
    }
  });
});

describe('a restore killed at its share', () => {
  const consumer = '111122223333';
  let moto: MotoServer;
  let proxy: FaultProxy;
  let project: TempProject;

  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startFaultProxy(moto.motoEndpoint);
    project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', extra: `launchPermissions: { accounts: ['${consumer}'] },` }) } });
  });
  afterAll(async () => {
    await project?.remove();
    await proxy?.stop();
    await moto?.stop();
  });

  const env = () => ({ ...proxy.env(moto.env), GILD_SMOKE_POLL_MS: '100' });
  const gild = async (args: string[]) => {
    const result = await project.gild(args, env());
    expect(result.stderr + result.stdout).not.toMatch(/internal error/);
    return result;
  };
  const launchers = (region: string, amiId: string) => launchersOf(moto.endpoint, region, amiId);

  it('is finished by the next gild run: the AMI shared again, then latest moved back to it', async () => {
    const amis = await publishTwice(gild, moto.endpoint);
    expect((await gild(['revoke', 'web', '1.0.1', '--reason', 'looked broken', '--disable'])).exitCode).toBe(0);
    // NOTE: moto has no DisableImage: the grant it withdraws on AWS is withdrawn by hand (see 'restore after revoke --disable').
    for (const region of regions) await awsClients(moto.endpoint, region).ec2.send(new ModifyImageAttributeCommand({ ImageId: amis[region]!, LaunchPermission: { Remove: [{ UserId: consumer }] } }));

    // Killed while the share of us-west-2's AMI is under way (the restore steps are done and nothing else changes that AMI's attributes).
    let held!: () => void;
    const reached = new Promise<void>((resolve) => (held = resolve));
    proxy.setRules({ holds: [{ service: 'ec2', action: 'ModifyImageAttribute', bodyIncludes: `ImageId=${amis['us-west-2']}`, onHeld: () => held() }] });
    const child = project.spawn(['restore', 'web', '1.0.1', '--reason', 'false alarm'], env());
    const ended = child.then((result) => result);
    await Promise.race([reached, ended.then((result) => Promise.reject(new Error(`gild ended before the share (exit ${result.exitCode}):\n${String(result.stdout)}\n${String(result.stderr)}`)))]);
    child.kill('SIGKILL');
    expect((await ended).signal).toBe('SIGKILL');
    proxy.reset();
    expect(await launchers('us-west-2', amis['us-west-2']!)).toEqual([]);
    expect((await parametersUnder(moto.endpoint, 'us-west-2', '/golden/web'))['/golden/web/latest']).not.toBe(amis['us-west-2']);

    const plan = await gild(['plan']);
    expect(plan.stdout, plan.stderr).toMatch(/share 1\.0\.1 in us-west-2 — finish the restore that stopped half-way/);
    const next = await gild(['run']);
    expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    for (const region of regions) {
      expect(await launchers(region, amis[region]!), region).toEqual([{ UserId: consumer }]);
      expect((await parametersUnder(moto.endpoint, region, '/golden/web'))['/golden/web/latest'], region).toBe(amis[region]);
    }
  });
});

/** Who may launch an AMI, as the emulator says. */
async function launchersOf(endpoint: string, region: string, amiId: string) {
  return (await awsClients(endpoint, region).ec2.send(new DescribeImageAttributeCommand({ ImageId: amiId, Attribute: 'launchPermission' }))).LaunchPermissions ?? [];
}

/** web 1.0.0, then 1.0.1, published: 1.0.1's AMI in each region. */
async function publishTwice(gild: (args: string[]) => Promise<{ exitCode: number }>, endpoint: string): Promise<Record<string, string>> {
  expect((await gild(['run'])).exitCode).toBe(0);
  expect((await gild(['run', '--force'])).exitCode).toBe(0);
  return Object.fromEntries(await Promise.all(regions.map(async (region) => [region, (await parametersUnder(endpoint, region, '/golden/web'))['/golden/web/versions/1.0.1']!] as const)));
}
