/**
 * What app teams and on-call engineers can trust after a revoke or a rollback, through the real CLI on moto with real
 * Packer (issues 18 and 20): the revoked AMI is kept and its number never built again, consumers are refused it unless
 * they ask, a channel moves only to a version that soaked, rollbacks take v<major> and channels, a pointer names only
 * its own image's AMIs, and a revoke killed half-way is finished by the next run, never undone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClients, imageState, parametersUnder } from '../support/aws-state.ts';
import { startMoto, useMotoBehindFaultProxy, type MotoServer } from '../support/moto.ts';
import { planPrintedBy } from '../support/lifecycle-printed-plan.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

const regions = ['us-east-1', 'us-west-2'] as const;

describe('a revoke that lasts, seen by consumers, and rollbacks of every pointer', () => {
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
    expect(result.stderr + result.stdout).not.toMatch(/internal error|TypeError/);
    return result;
  };
  const parameters = (region: string) => parametersUnder(moto.endpoint, region, '/golden/api');
  const editSettings = async (from: string, to: string) => {
    const file = path.join(project.dir, 'pipeline/settings.ts');
    const before = await readFile(file, 'utf8');
    expect(before).toContain(from);
    await writeFile(file, before.replace(from, to));
  };
  const pointsTo = async (pointer: string, version: string) => {
    for (const region of regions) {
      const found = await parameters(region);
      expect(found[`/golden/api/${pointer}`], `${pointer} in ${region}`).toBe(found[`/golden/api/versions/${version}`] ?? `(versions/${version} is gone)`);
    }
  };
  let revokedAmis: Record<string, string> = {};
  let goodAmis: Record<string, string> = {};

  it('revoke: latest and v1 move to the newest good version; a channel whose soak no good version has passed stays, said in the plan', { timeout: 400_000 }, async () => {
    for (const args of [['run'], ['run', '--force'], ['run', '--force']]) expect((await gild(args)).exitCode).toBe(0);
    expect((await gild(['promote', 'api', '--to', 'stable', '--version', '1.0.2'])).exitCode).toBe(0);
    await editSettings('channels: { stable: { soakDays: 0 } }', 'channels: { stable: { soakDays: 7 } }');
    revokedAmis = Object.fromEntries(await Promise.all(regions.map(async (region) => [region, (await parameters(region))['/golden/api/versions/1.0.2']!] as const)));
    goodAmis = Object.fromEntries(await Promise.all(regions.map(async (region) => [region, (await parameters(region))['/golden/api/versions/1.0.1']!] as const)));

    const revoked = await gild(['revoke', 'api', '1.0.2', '--reason', 'CVE-2026-0001 in openssl']);
    expect(revoked.exitCode, revoked.stdout + revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain(
      'channels/stable still names the revoked 1.0.2: no good version has soaked the 7 days stable asks (1.0.1 was published 0 days ago); run `gild promote api --to stable --version 1.0.1` once it has',
    );
    await pointsTo('latest', '1.0.1');
    await pointsTo('v1', '1.0.1');
    await pointsTo('channels/stable', '1.0.2');
    for (const region of regions) {
      expect((await imageState(moto.endpoint, region, revokedAmis[region]!))?.tags).toMatchObject({
        'gild:status': 'revoked',
        'gild:revoked-reason': 'CVE-2026-0001 in openssl',
        'gild:revoked-replacement': '1.0.1',
        'gild:deprecated-at': expect.any(String),
      });
      expect(JSON.parse((await parameters(region))['/golden/api/status/1.0.2']!)).toMatchObject({ revoked: { reason: 'CVE-2026-0001 in openssl', replacement: '1.0.1' } });
    }
    expect(JSON.parse((await parameters('us-east-1'))['/golden/api/ledger']!)).toMatchObject({
      built: { '1.0': '1.0.2' },
      revoked: { '1.0.2': { reason: 'CVE-2026-0001 in openssl', replacement: '1.0.1' } },
    });
  });

  it('resolve refuses the revoked version (EREVOKED, exit 1, reason and replacement) and --allow-revoked gives it, marked', { timeout: 120_000 }, async () => {
    // (The test's runner trims the final newline.)
    expect(await gild(['resolve', 'api'])).toMatchObject({ exitCode: 0, stdout: goodAmis['us-east-1'] });
    expect(await gild(['resolve', 'api', '--region', 'us-west-2', '--range', '^1'])).toMatchObject({ exitCode: 0, stdout: goodAmis['us-west-2'] });
    for (const selector of [
      ['--version', '1.0.2'],
      ['--channel', 'stable'],
    ]) {
      const refused = await gild(['resolve', 'api', '--region', 'us-west-2', ...selector]);
      expect(refused.exitCode, selector.join(' ')).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(
        /Image "api" 1\.0\.2 in us-west-2 \(ami-\w+, from \/golden\/api\/(versions\/1\.0\.2|channels\/stable)\) was revoked: CVE-2026-0001 in openssl \(by .+ at .+\)\. Use 1\.0\.1 instead/,
      );
    }
    const allowed = await gild(['resolve', 'api', '--version', '1.0.2', '--allow-revoked', '--json']);
    expect(allowed.exitCode).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({
      amiId: revokedAmis['us-east-1'],
      version: '1.0.2',
      revoked: true,
      revocation: { reason: 'CVE-2026-0001 in openssl', replacement: '1.0.1' },
      deprecated: true,
      deprecationTime: expect.any(String),
    });
    expect(allowed.stderr).toMatch(/warning: api 1\.0\.2 .* is revoked: CVE-2026-0001 in openssl/);
  });

  it('the nightly run keeps the revoked AMI (keepRevokedDays), builds nothing, and moves nothing back', { timeout: 120_000 }, async () => {
    const nightly = await gild(['run']);
    expect(nightly.exitCode, nightly.stdout + nightly.stderr).toBe(0);
    expect(nightly.stdout).toMatch(/= api: unchanged at/);
    expect(nightly.stdout).toMatch(/revoked on \d{4}-\d\d-\d\d: kept deprecated for inspection and restore until \d{4}-\d\d-\d\d \(retention\.keepRevokedDays 30\)/);
    for (const region of regions) expect((await imageState(moto.endpoint, region, revokedAmis[region]!))?.tags['gild:status']).toBe('revoked');
    await pointsTo('latest', '1.0.1');
    await pointsTo('channels/stable', '1.0.2');
  });

  it('rolls back a v<major> line and a channel, each held; the nightly run leaves both', { timeout: 200_000 }, async () => {
    const line = await gild(['rollback', 'api', '--channel', 'v1', '--to', '1.0.0', '--reason', 'regression in 1.0.1']);
    expect(line.exitCode, line.stdout + line.stderr).toBe(0);
    await pointsTo('v1', '1.0.0');
    const channel = await gild(['rollback', 'api', '--channel', 'stable', '--reason', 'off the revoked version']);
    expect(channel.exitCode, channel.stdout + channel.stderr).toBe(0);
    await pointsTo('channels/stable', '1.0.1');
    const east = await parameters('us-east-1');
    expect(JSON.parse(east['/golden/api/holds/v1']!)).toMatchObject({ version: '1.0.0', reason: 'regression in 1.0.1' });
    expect(JSON.parse(east['/golden/api/holds/channels/stable']!)).toMatchObject({ version: '1.0.1' });
    expect((await gild(['run'])).exitCode).toBe(0);
    await pointsTo('v1', '1.0.0');
    await pointsTo('latest', '1.0.1');
  });

  it('after keepRevokedDays the revoked version is retired, and its number is never built again; history keeps why, who and when', { timeout: 300_000 }, async () => {
    await editSettings('retention: { keep: 3 }', 'retention: { keep: 3, keepRevokedDays: 0 }');
    const retired = await gild(['run']);
    expect(retired.exitCode, retired.stdout + retired.stderr).toBe(0);
    for (const region of regions) {
      expect(await imageState(moto.endpoint, region, revokedAmis[region]!)).toBeUndefined();
      expect(await parameters(region)).not.toHaveProperty('/golden/api/versions/1.0.2');
    }
    const rebuilt = await gild(['run', '--force']);
    expect(rebuilt.exitCode, rebuilt.stdout + rebuilt.stderr).toBe(0);
    for (const region of regions) {
      expect(
        Object.keys(await parameters(region))
          .filter((name) => name.includes('/versions/'))
          .sort(),
        `${retired.stdout}\n---\n${rebuilt.stdout}`,
      ).toEqual(['/golden/api/versions/1.0.0', '/golden/api/versions/1.0.1', '/golden/api/versions/1.0.3']);
    }
    await pointsTo('latest', '1.0.3');
    // v1 is still held where the rollback put it.
    await pointsTo('v1', '1.0.0');
    const history = JSON.parse((await gild(['history', 'api', '--json'])).stdout) as { versions: { version: string; status: string; revoked?: { reason: string; by?: string; at?: string } }[] };
    expect(history.versions.find((version) => version.version === '1.0.2')).toMatchObject({
      status: 'retired',
      revoked: { reason: 'CVE-2026-0001 in openssl', by: expect.stringMatching(/@/), at: expect.any(String) },
    });
  });

  it('refuses to promote a version whose versions/<v> names another image’s AMI, naming it, before anything moves', { timeout: 120_000 }, async () => {
    for (const region of regions) {
      const { ssm } = awsClients(moto.endpoint, region);
      const foreign = (await ssm.send(new GetParameterCommand({ Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' }))).Parameter!.Value!;
      await ssm.send(new PutParameterCommand({ Name: '/golden/api/versions/1.0.9', Value: foreign, Type: 'String', DataType: 'aws:ec2:image' }));
    }
    await gild(['release', 'api', '--channel', 'stable']);
    const before = await parameters('us-east-1');
    const refused = await gild(['promote', 'api', '--version', '1.0.9', '--to', 'stable']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/versions\/1\.0\.9 of api in us-east-1 names ami-\w+, which is not an available AMI tagged gild:image=api and gild:version=1\.0\.9/);
    expect(await parameters('us-east-1')).toEqual(before);
    const latest = await gild(['promote', 'api', '--to', 'latest']);
    expect(latest.exitCode).toBe(2);
    expect(latest.stderr).toMatch(/--to latest: latest is not a channel/);
  });
});

describe('a revoke killed half-way through three regions', () => {
  const emulator = useMotoBehindFaultProxy();
  const threeRegions = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
  const env = () => ({ ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100' });

  it('is finished by the next gild run, never undone', { timeout: 500_000 }, async () => {
    const project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', regions: "{ build: 'us-east-1', copies: ['us-west-2', 'eu-west-1'] }" }) } });
    try {
      for (const args of [['run'], ['run', '--force']]) expect((await project.gild(args, env())).exitCode).toBe(0);
      const parameters = (region: string) => parametersUnder(emulator.moto.endpoint, region, '/golden/web');
      const good = Object.fromEntries(await Promise.all(threeRegions.map(async (region) => [region, (await parameters(region))['/golden/web/versions/1.0.0']!] as const)));
      const bad = Object.fromEntries(await Promise.all(threeRegions.map(async (region) => [region, (await parameters(region))['/golden/web/versions/1.0.1']!] as const)));

      // Hold the first pointer write of the second region: by then us-east-1 has moved, the others not.
      let held!: () => void;
      const reached = new Promise<void>((resolve) => (held = resolve));
      emulator.proxy.setRules({ holds: [{ service: 'ssm', action: 'PutParameter', bodyIncludes: good['us-west-2']!, onHeld: () => held() }] });
      const child = project.spawn(['revoke', 'web', '1.0.1', '--reason', 'kernel panic on boot'], env());
      const ended = child.then((result) => result);
      await Promise.race([
        reached,
        ended.then((result) => Promise.reject(new Error(`gild ended before the kill point (exit ${result.exitCode}):\n${String(result.stdout)}\n${String(result.stderr)}`))),
      ]);
      child.kill('SIGKILL');
      expect((await ended).signal).toBe('SIGKILL');
      emulator.proxy.reset();

      // Half-done: the record is everywhere, a pointer still names the revoked version in eu-west-1.
      expect((await parameters('eu-west-1'))['/golden/web/latest']).toBe(bad['eu-west-1']);
      for (const region of threeRegions) expect((await imageState(emulator.moto.endpoint, region, bad[region]!))?.tags['gild:status']).toBe('revoked');

      const next = await project.gild(['run'], env());
      expect(next.exitCode, next.stdout + next.stderr).toBe(0);
      expect(planPrintedBy(next)).toMatch(/finish the revoke of 1\.0\.1, which stopped half-way/);
      expect(next.stdout).not.toMatch(/web 1\.0\.2 published/);
      for (const region of threeRegions) {
        const found = await parameters(region);
        expect(found['/golden/web/latest'], `latest in ${region}`).toBe(good[region]);
        expect(found['/golden/web/v1'], `v1 in ${region}`).toBe(good[region]);
        expect(found).not.toHaveProperty('/golden/web/lock');
        expect((await imageState(emulator.moto.endpoint, region, bad[region]!))?.tags).toMatchObject({
          'gild:status': 'revoked',
          'gild:revoked-reason': 'kernel panic on boot',
          'gild:deprecated-at': expect.any(String),
        });
      }
      // And the run after that moves nothing back either.
      expect((await project.gild(['run'], env())).exitCode).toBe(0);
      for (const region of threeRegions) expect((await parameters(region))['/golden/web/latest']).toBe(good[region]);
    } finally {
      await project.remove();
    }
  });
});
