/**
 * Owned copies in other accounts, through the real CLI and Packer on moto: after publish in the building account,
 * gild assumes each distribution role, copies the AMI into that account (on moto, RegisterImage stands in for the
 * CopyImage of a shared AMI, which moto cannot do: EMULATOR.md), tags the copy like its source and writes the same
 * parameters there. moto's AssumeRole needs no role to exist in the target account (its STS says so); the
 * credentials it returns act in the account the role ARN names, which is what these tests read back.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { describe, expect, it } from 'vitest';
import { parametersUnder } from '../support/aws-state.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { planPrintedBy } from '../support/lifecycle-printed-plan.ts';
import { createTempProject, imageSource } from '../support/project.ts';
import { createInstanceProfile } from '../support/moto-iam.ts';

const target = '111111111111';
const roleArn = `arn:aws:iam::${target}:role/gild-distribution`;
/** A second account, for the test that shows a one-region account and a smoke.regions 'all' account in one run. */
const oneRegionTarget = '333333333333';
const oneRegionRoleArn = `arn:aws:iam::${oneRegionTarget}:role/gild-distribution`;
const regions = ['us-east-1', 'us-west-2'] as const;

const distributed = (account: string, role: string) => `distribution: { accounts: [{ account: '${account}', roleArn: '${role}', regions: ['us-east-1', 'us-west-2'] }] },`;

describe('distribution.accounts', () => {
  const harness = useMotoBehindFaultProxy();

  /** What an account holds, read as its role (straight from moto, not through the proxy). */
  const inAccount = (role: string, region: string) => {
    const credentials = fromTemporaryCredentials({
      params: { RoleArn: role, RoleSessionName: 'test' },
      masterCredentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      clientConfig: { region, endpoint: harness.moto.endpoint },
    });
    const ec2 = new EC2Client({ region, endpoint: harness.moto.endpoint, credentials });
    const ssm = new SSMClient({ region, endpoint: harness.moto.endpoint, credentials });
    return {
      async amis() {
        const output = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:gild:image', Values: ['web'] }] }));
        return (output.Images ?? []).map((image) => ({ amiId: image.ImageId!, owner: image.OwnerId, tags: Object.fromEntries((image.Tags ?? []).map((tag) => [tag.Key!, tag.Value ?? ''])) }));
      },
      async smokeInstances() {
        const output = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:gild:role', Values: ['smoke'] }] }));
        return (output.Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []).map((instance) => ({ imageId: instance.ImageId, state: instance.State?.Name }));
      },
      /** An instance profile in the account (moto's RunInstances wants it to exist there): IAM, signed as the role. */
      async createInstanceProfile(name: string) {
        const { accessKeyId } = await credentials();
        await createInstanceProfile(harness.moto.endpoint, name, accessKeyId);
      },
      async putParameter(name: string, value: string) {
        await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', DataType: 'aws:ec2:image', Overwrite: true }));
      },
      async parameters() {
        const output = await ssm.send(new GetParametersByPathCommand({ Path: '/golden/web', Recursive: true }));
        return Object.fromEntries((output.Parameters ?? []).map((parameter) => [parameter.Name!, parameter.Value!]));
      },
    };
  };

  const project = async (images: Record<string, string>) => {
    const created = await createTempProject({ images });
    const gild = async (args: string[]) => {
      const result = await created.gild(args, { ...harness.proxy.env(harness.moto.env), GILD_SMOKE_POLL_MS: '100' });
      expect(result.stderr + result.stdout).not.toMatch(/internal error|\n\s+at /);
      return result;
    };
    return { gild, remove: () => created.remove() };
  };

  it('copies each published version into the account, tagged like its source, publishes it there, and a second run does nothing', { timeout: 300_000 }, async () => {
    const { gild, remove } = await project({ 'web.ts': imageSource({ name: 'web', extra: distributed(target, roleArn) }) });
    try {
      const run = await gild(['run']);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      // The plan the run printed before applying it (the same formatter as `gild plan`).
      const plan = planPrintedBy(run);
      for (const region of regions) expect(plan).toContain(`copy 1.0.0 into account ${target} in ${region} (as ${roleArn})`);
      expect(plan).toMatch(/publish 1\.0\.0 in account 111111111111: us-east-1 \/golden\/web\/versions\/1\.0\.0/);
      expect(run.stderr + run.stdout).toMatch(/stood in for by RegisterImage/);

      for (const region of regions) {
        const source = await parametersUnder(harness.moto.endpoint, region, '/golden/web');
        const sourceAmi = source['/golden/web/versions/1.0.0']!;
        const account = inAccount(roleArn, region);
        const copies = await account.amis();
        expect(copies, region).toHaveLength(1);
        const [copy] = copies;
        expect(copy!.owner, region).toBe(target);
        expect(copy!.amiId).not.toBe(sourceAmi);
        expect(copy!.tags, region).toMatchObject({
          'gild:image': 'web',
          'gild:version': '1.0.0',
          'gild:source-ami': sourceAmi,
          'gild:source-account': '123456789012',
          'gild:status': 'published',
          // the account's copy belongs to the pipeline that made it
          'gild:prefix': '/golden',
          owner: 'test',
          app: 'web',
          environment: 'test',
        });
        expect(await account.parameters(), region).toEqual({ '/golden/web/versions/1.0.0': copy!.amiId, '/golden/web/v1': copy!.amiId, '/golden/web/latest': copy!.amiId });
      }

      // The share was only for the copy: the source is back to exactly the launch permissions its definition gives.
      const verify = await gild(['verify']);
      expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);

      harness.proxy.reset();
      const again = await gild(['run']);
      expect(again.exitCode, again.stderr + again.stdout).toBe(0);
      expect(harness.proxy.actions('ec2').filter((action) => ['RegisterImage', 'CopyImage', 'ModifyImageAttribute', 'CreateTags'].includes(action))).toEqual([]);
      expect(harness.proxy.actions('ssm').filter((action) => action === 'PutParameter')).toEqual([]);
      // What the second run planned, from the state the first left: nothing in the account.
      expect(planPrintedBy(again)).toMatch(/^= web: unchanged at 1\.0\.0/m);
      expect(planPrintedBy(again)).not.toMatch(/into account|in account/);
    } finally {
      await remove();
    }
  });

  // One run, two accounts: one with a single region (its copy smoke-tested there), one with smoke.regions 'all' over two
  // regions. Each account's copies, instances and parameters are read as that account's own role.
  it("smoke-tests the copy in the account before publishing it there, when asked; in every region of the account at once with smoke.regions 'all'", { timeout: 300_000 }, async () => {
    const extra = `smoke: { checks: [{ name: 'ready', run: 'true' }] }, distribution: { accounts: [{ account: '${oneRegionTarget}', roleArn: '${oneRegionRoleArn}', regions: ['us-east-1'], smoke: { instanceProfile: 'gild-smoke' } }, { account: '${target}', roleArn: '${roleArn}', regions: ['us-east-1', 'us-west-2'], smoke: { instanceProfile: 'gild-smoke', regions: 'all' } }] },`;
    const { gild, remove } = await project({ 'web.ts': imageSource({ name: 'web', extra }) });
    await inAccount(oneRegionRoleArn, 'us-east-1').createInstanceProfile('gild-smoke');
    await inAccount(roleArn, 'us-east-1').createInstanceProfile('gild-smoke');
    try {
      const run = await gild(['run']);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      const plan = planPrintedBy(run);
      expect(plan).toMatch(new RegExp(`smoke test the copy of 1\\.0\\.0 in account ${oneRegionTarget} in us-east-1 —`));
      expect(plan).toContain(`smoke test the copy of 1.0.0 in account ${target} in us-east-1, us-west-2`);
      expect(run.stdout + run.stderr).toContain(`smoke test in account ${oneRegionTarget} passed`);

      // The single-region account: the test instance ran there, from its copy, and is gone.
      const account = inAccount(oneRegionRoleArn, 'us-east-1');
      const [copy] = await account.amis();
      expect(await account.smokeInstances()).toEqual([{ imageId: copy!.amiId, state: 'terminated' }]);
      expect(copy!.tags['gild:tested-at']).toBeDefined();
      expect((await account.parameters())['/golden/web/latest']).toBe(copy!.amiId);
      expect(await inAccount(oneRegionRoleArn, 'us-west-2').amis()).toEqual([]);

      // smoke.regions 'all': each region's copy was launched there, in the account, before it was published there.
      for (const region of regions) {
        const everyRegion = inAccount(roleArn, region);
        const [regionCopy] = await everyRegion.amis();
        expect(await everyRegion.smokeInstances(), region).toEqual([{ imageId: regionCopy!.amiId, state: 'terminated' }]);
        expect(regionCopy!.tags['gild:tested-at'], region).toBeDefined();
        expect((await everyRegion.parameters())['/golden/web/latest'], region).toBe(regionCopy!.amiId);
      }
    } finally {
      await remove();
    }
  });

  it('a lost answer to the copy does not make a second copy', { timeout: 300_000 }, async () => {
    const { gild, remove } = await project({ 'web.ts': imageSource({ name: 'web', extra: distributed(target, roleArn) }) });
    try {
      harness.proxy.setRules({ lostAnswers: [{ action: 'RegisterImage', times: 2 }] });
      const run = await gild(['run']);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      expect(harness.proxy.calls.filter((call) => call.fault === 'applied-then-lost').map((call) => call.action)).toEqual(['RegisterImage', 'RegisterImage']);
      // One assumed-role session serves the whole run in that account: observing, copying in two regions, publishing.
      expect(harness.proxy.actions().filter((action) => action === 'AssumeRole')).toHaveLength(1);
      for (const region of regions) {
        const account = inAccount(roleArn, region);
        const copies = await account.amis();
        expect(copies, region).toHaveLength(1);
        expect((await account.parameters())['/golden/web/latest'], region).toBe(copies[0]!.amiId);
      }
    } finally {
      await remove();
    }
  });

  it('retires the copies of a version the building account retires, after moving the pointers there', { timeout: 300_000 }, async () => {
    const { gild, remove } = await project({ 'web.ts': imageSource({ name: 'web', extra: `retention: { keep: 1 }, ${distributed(target, roleArn)}` }) });
    try {
      expect((await gild(['run'])).exitCode).toBe(0);
      const firstCopies = Object.fromEntries(await Promise.all(regions.map(async (region) => [region, (await inAccount(roleArn, region).amis())[0]!.amiId] as const)));
      const run = await gild(['run', '--force']);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      for (const region of regions) expect(planPrintedBy(run)).toContain(`retire the copy of 1.0.0 in account ${target} in ${region}: ${firstCopies[region]}, /golden/web/versions/1.0.0`);
      for (const region of regions) {
        const account = inAccount(roleArn, region);
        const copies = await account.amis();
        expect(
          copies.map((copy) => copy.tags['gild:version']),
          region,
        ).toEqual(['1.0.1']);
        expect(await account.parameters(), region).toEqual({ '/golden/web/versions/1.0.1': copies[0]!.amiId, '/golden/web/v1': copies[0]!.amiId, '/golden/web/latest': copies[0]!.amiId });
      }
    } finally {
      await remove();
    }
  });

  it(
    "a revoke is followed in the account: its copies recorded revoked and deprecated, every pointer there naming them moved (a channel and another major's line too); a restore brings them back",
    { timeout: 600_000 },
    async () => {
      const created = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', extra: distributed(target, roleArn) }) } });
      const env = { ...harness.proxy.env(harness.moto.env), GILD_SMOKE_POLL_MS: '100' };
      const gild = async (args: string[]) => {
        const result = await created.gild(args, env);
        expect(result.stderr + result.stdout).not.toMatch(/internal error|\n\s+at /);
        return result;
      };
      try {
        expect((await gild(['run'])).exitCode).toBe(0);
        expect((await gild(['run', '--force'])).exitCode).toBe(0);
        await created.writeImage('web.ts', imageSource({ name: 'web', version: '2.0.0', extra: distributed(target, roleArn) }));
        expect((await gild(['run'])).exitCode).toBe(0);
        const copyOf = async (region: string, version: string) => (await inAccount(roleArn, region).amis()).find((copy) => copy.tags['gild:version'] === version)!.amiId;
        // The account's v1 names 1.0.1 (2.0.0 moved only latest and v2 there), and a channel there was set to it by hand.
        for (const region of regions) {
          const account = inAccount(roleArn, region);
          expect((await account.parameters())['/golden/web/v1'], region).toBe(await copyOf(region, '1.0.1'));
          await account.putParameter('/golden/web/channels/stable', await copyOf(region, '1.0.1'));
        }

        const revoke = await gild(['revoke', 'web', '1.0.1', '--reason', 'CVE-2026-0001 in openssl']);
        expect(revoke.exitCode, revoke.stderr + revoke.stdout).toBe(0);
        // The plan the revoke printed before applying it (what `--dry-run` stops at).
        const revokePlan = planPrintedBy(revoke, 'Plan');
        for (const region of regions) expect(revokePlan).toContain(`revoke the copy of 1.0.1 in account ${target} in ${region}`);
        expect(revokePlan).toContain(`move v1 in account ${target} to 1.0.0`);
        expect(revokePlan).toContain(`move channels/stable in account ${target} to 2.0.0`);
        for (const region of regions) {
          const account = inAccount(roleArn, region);
          const revoked = (await account.amis()).find((copy) => copy.tags['gild:version'] === '1.0.1')!;
          expect(revoked.tags, region).toMatchObject({ 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE-2026-0001 in openssl', 'gild:revoked-replacement': '1.0.0' });
          expect(revoked.tags['gild:deprecated-at'], region).toBeDefined();
          const parameters = await account.parameters();
          expect(parameters['/golden/web/v1'], region).toBe(await copyOf(region, '1.0.0'));
          expect(parameters['/golden/web/channels/stable'], region).toBe(await copyOf(region, '2.0.0'));
          expect(parameters['/golden/web/latest'], region).toBe(await copyOf(region, '2.0.0'));
          // What the account's own `gild resolve` reads: the version is refused there too.
          expect(JSON.parse(parameters['/golden/web/status/1.0.1']!), region).toMatchObject({ revoked: { reason: 'CVE-2026-0001 in openssl', replacement: '1.0.0' } });
        }
        // Nothing is left to finish: the next plan plans nothing in the account, verify finds nothing there, and
        // status shows the account's pointers and its revoked copies.
        const after = await gild(['plan']);
        expect(after.stdout).not.toMatch(/in account/);
        const verify = await gild(['verify']);
        expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
        const status = await gild(['status']);
        expect(status.exitCode, status.stderr).toBe(0);
        for (const region of regions) {
          expect(status.stdout).toContain(`  account ${target} ${region}: latest → 2.0.0 (${await copyOf(region, '2.0.0')}); /golden/web/channels/stable → 2.0.0`);
          expect(status.stdout).toContain(`    revoked copies: 1.0.1 (${await copyOf(region, '1.0.1')})`);
        }

        const restore = await gild(['restore', 'web', '1.0.1', '--reason', 'the CVE does not apply']);
        expect(restore.exitCode, restore.stderr + restore.stdout).toBe(0);
        for (const region of regions) {
          const account = inAccount(roleArn, region);
          const restored = (await account.amis()).find((copy) => copy.tags['gild:version'] === '1.0.1')!;
          expect(restored.tags['gild:status'], region).toBe('published');
          expect(restored.tags['gild:revoked-reason'], region).toBeUndefined();
          const parameters = await account.parameters();
          expect(parameters['/golden/web/status/1.0.1'], region).toBeUndefined();
          // v1's newest good version is 1.0.1 again, there as here; the channel is offered, not moved.
          expect(parameters['/golden/web/v1'], region).toBe(restored.amiId);
          expect(parameters['/golden/web/channels/stable'], region).toBe(await copyOf(region, '2.0.0'));
        }
        expect((await gild(['plan'])).stdout).not.toMatch(/in account/);
      } finally {
        await created.remove();
      }
    },
  );

  it('a revoke made while the account could not be read is followed there by the next run', { timeout: 600_000 }, async () => {
    const { gild, remove } = await project({ 'web.ts': imageSource({ name: 'web', extra: distributed(target, roleArn) }) });
    try {
      expect((await gild(['run'])).exitCode).toBe(0);
      expect((await gild(['run', '--force'])).exitCode).toBe(0);
      harness.proxy.setRules({ deniedRoles: [roleArn] });
      const revoke = await gild(['revoke', 'web', '1.0.1', '--reason', 'CVE-2026-0001 in openssl']);
      expect(revoke.exitCode, revoke.stderr + revoke.stdout).toBe(0);
      expect(revoke.stdout).toContain(`account ${target} could not be read`);
      harness.proxy.setRules({});
      // Still on the revoked copy there, until the next run follows the revoke.
      expect((await inAccount(roleArn, 'us-east-1').amis()).find((copy) => copy.tags['gild:version'] === '1.0.1')!.tags['gild:status']).toBe('published');
      const run = await gild(['run']);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      for (const region of regions) {
        const account = inAccount(roleArn, region);
        const copies = await account.amis();
        const revoked = copies.find((copy) => copy.tags['gild:version'] === '1.0.1')!;
        const good = copies.find((copy) => copy.tags['gild:version'] === '1.0.0')!;
        expect(revoked.tags, region).toMatchObject({ 'gild:status': 'revoked', 'gild:revoked-reason': 'CVE-2026-0001 in openssl' });
        const parameters = await account.parameters();
        expect(parameters['/golden/web/latest'], region).toBe(good.amiId);
        expect(parameters['/golden/web/v1'], region).toBe(good.amiId);
      }
      expect((await gild(['plan'])).stdout).not.toMatch(/in account/);
    } finally {
      await remove();
    }
  });

  it('copies follow their source through the deprecate and disable phases of its retirement, then out', { timeout: 300_000 }, async () => {
    const retention = `retention: { keep: 1, phases: { deprecate: { graceDays: 0 }, disable: { graceDays: 0 } } }, `;
    const { gild, remove } = await project({ 'web.ts': imageSource({ name: 'web', extra: `${retention}${distributed(target, roleArn)}` }) });
    try {
      expect((await gild(['run'])).exitCode).toBe(0);
      const copyOf1 = async (region: string) => (await inAccount(roleArn, region).amis()).find((copy) => copy.tags['gild:version'] === '1.0.0');
      const run = await gild(['run', '--force']);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      for (const region of regions) {
        const copy = await copyOf1(region);
        expect(copy?.tags['gild:deprecated-at'], region).toBeDefined();
        expect(copy?.tags['gild:disabled-at'], region).toBeUndefined();
      }
      const disabling = await gild(['run']);
      expect(disabling.exitCode, disabling.stderr + disabling.stdout).toBe(0);
      for (const region of regions) expect(planPrintedBy(disabling)).toContain(`retire (disable) the copy of 1.0.0 in account ${target} in ${region}`);
      for (const region of regions) expect((await copyOf1(region))?.tags['gild:disabled-at'], region).toBeDefined();
      expect((await gild(['run'])).exitCode).toBe(0);
      for (const region of regions) expect(await copyOf1(region), region).toBeUndefined();
    } finally {
      await remove();
    }
  });

  it('a run killed after the copy, before it is tagged, converges on the next run without copying again', { timeout: 300_000 }, async () => {
    const created = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', extra: distributed(target, roleArn) }) } });
    const env = { ...harness.proxy.env(harness.moto.env), GILD_SMOKE_POLL_MS: '100' };
    try {
      // The kill point is exact: the proxy holds the copy's CreateTags (the copy exists, untagged), and the test kills gild there.
      // NOTE: gild:source-account, not gild:source-ami: gild's own copy to another region is tagged with the latter too.
      let held!: () => void;
      const reached = new Promise<void>((resolve) => (held = resolve));
      harness.proxy.setRules({ holds: [{ service: 'ec2', action: 'CreateTags', bodyIncludes: 'gild:source-account', onHeld: () => held() }] });
      const child = created.spawn(['run'], env);
      const ended = child.then((result) => result);
      await Promise.race([
        reached,
        ended.then((result) => Promise.reject(new Error(`gild ended before the kill point (exit ${result.exitCode}):\n${String(result.stdout)}\n${String(result.stderr)}`))),
      ]);
      child.kill('SIGKILL');
      expect((await ended).signal).toBe('SIGKILL');
      harness.proxy.reset();

      const run = await created.gild(['run'], env);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      expect(planPrintedBy(run), run.stderr).toMatch(/copy 1\.0\.0 into account 111111111111 in us-east-1/);
      expect(run.stdout + run.stderr).toMatch(/finished the copy an earlier attempt made/);
      for (const region of regions) {
        const account = inAccount(roleArn, region);
        const copies = await account.amis();
        expect(copies, region).toHaveLength(1);
        expect(await account.parameters(), region).toMatchObject({ '/golden/web/versions/1.0.0': copies[0]!.amiId, '/golden/web/latest': copies[0]!.amiId });
      }
    } finally {
      await created.remove();
    }
  });

  it('a role that cannot be assumed fails that distribution with the role and account named; other accounts and images go on', { timeout: 300_000 }, async () => {
    const deniedRole = 'arn:aws:iam::222222222222:role/gild-denied';
    const { gild, remove } = await project({
      'web.ts': imageSource({
        name: 'web',
        extra: `distribution: { accounts: [{ account: '222222222222', roleArn: '${deniedRole}', regions: ['us-east-1'] }, { account: '${target}', roleArn: '${roleArn}', regions: ['us-east-1'] }] },`,
      }),
      'api.ts': imageSource({ name: 'api' }),
    });
    try {
      harness.proxy.setRules({ deniedRoles: [deniedRole] });
      const run = await gild(['run']);
      expect(run.exitCode, run.stderr + run.stdout).toBe(1);
      // The account that cannot be read is still planned for (the plan does not fail on it); its step fails.
      expect(planPrintedBy(run)).toContain('copy 1.0.0 into account 222222222222 in us-east-1');
      expect(planPrintedBy(run)).not.toMatch(/^! /m);
      const output = run.stderr + run.stdout;
      expect(output).toContain(`gild could not assume ${deniedRole} to work in account 222222222222`);
      expect(output).toMatch(/AccessDenied/);
      // The building account published both images; the account whose role works has its copy.
      expect((await parametersUnder(harness.moto.endpoint, 'us-east-1', '/golden/web'))['/golden/web/latest']).toMatch(/^ami-/);
      expect((await parametersUnder(harness.moto.endpoint, 'us-east-1', '/golden/api'))['/golden/api/latest']).toMatch(/^ami-/);
      const copies = await inAccount(roleArn, 'us-east-1').amis();
      expect(copies).toHaveLength(1);
      expect((await inAccount(roleArn, 'us-east-1').parameters())['/golden/web/latest']).toBe(copies[0]!.amiId);
    } finally {
      await remove();
    }
  });
});
