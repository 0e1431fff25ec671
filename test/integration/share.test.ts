/**
 * Sharing through the real CLI, moto and real Packer: gild shares an image's
 * AMI and snapshots with exactly the accounts its definition lists, in every
 * region (the build's and the copies'), only after the smoke test passed. A
 * failing smoke test leaves the AMI shared with nobody; a run killed after
 * sharing but before publishing is resumed, shared again (changing nothing)
 * and published; `gild verify` then finds no drift.
 */
import { DescribeImageAttributeCommand, DescribeImagesCommand, DescribeSnapshotAttributeCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { awsClients, parametersUnder } from '../support/aws-state.ts';
import { convergenceViolations } from '../support/convergence.ts';
import type { ProxyCall } from '../support/fault-proxy.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { planPrintedBy } from '../support/lifecycle-printed-plan.ts';
import { createTempProject, imageSource } from '../support/project.ts';

const regions = ['us-east-1', 'us-west-2'];
const accounts = ['111122223333', '444455556666'];
const shared = (smoke: string) => imageSource({ name: 'web', extra: `launchPermissions: { accounts: ${JSON.stringify(accounts)} },\n  smoke: ${smoke},` });

/** Every AMI of `web` in the region, with who may launch it and who may create volumes from each of its snapshots. */
async function sharingOf(endpoint: string, region: string) {
  const { ec2 } = awsClients(endpoint, region);
  const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:gild:image', Values: ['web'] }] }))).Images ?? [];
  return Promise.all(
    images.map(async (image) => {
      const launch = (await ec2.send(new DescribeImageAttributeCommand({ ImageId: image.ImageId!, Attribute: 'launchPermission' }))).LaunchPermissions ?? [];
      const snapshotIds = (image.BlockDeviceMappings ?? []).flatMap((mapping) => (mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : []));
      const volumes = await Promise.all(
        snapshotIds.map(async (SnapshotId) => (await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId, Attribute: 'createVolumePermission' }))).CreateVolumePermissions ?? []),
      );
      return {
        amiId: image.ImageId!,
        status: image.Tags?.find((tag) => tag.Key === 'gild:status')?.Value,
        launch: launch.map((permission) => permission.UserId ?? `group:${permission.Group}`).sort(),
        snapshots: snapshotIds.length,
        volumes: volumes.map((permissions) => permissions.map((permission) => permission.UserId ?? `group:${permission.Group}`).sort()),
      };
    }),
  );
}

describe('gild shares an image itself, after its smoke test', () => {
  const emulator = useMotoBehindFaultProxy();
  const env = () => ({ ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100' });

  it('shares the published AMI and its snapshots with exactly the listed accounts in every region, after the smoke test, and verify finds no drift', { timeout: 180_000 }, async () => {
    const project = await createTempProject({ images: { 'web.ts': shared("{ checks: [{ name: 'serves', run: 'true' }] }") } });
    const calls: ProxyCall[] = [];
    emulator.proxy.setRules({ onCall: (call) => calls.push(call) });
    try {
      const result = await project.gild(['run'], env());
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);

      for (const region of regions) {
        const published = (await parametersUnder(emulator.moto.endpoint, region, '/golden/web'))['/golden/web/versions/1.0.0'];
        const [ami, ...others] = await sharingOf(emulator.moto.endpoint, region);
        expect(others, region).toEqual([]);
        expect(ami, region).toEqual({ amiId: published, status: 'published', launch: accounts, snapshots: expect.any(Number), volumes: expect.any(Array) });
        expect(ami!.snapshots, region).toBeGreaterThan(0);
        expect(ami!.volumes, region).toEqual(Array.from({ length: ami!.snapshots }, () => accounts));
      }
      // Granted after the smoke test, and before anything was published.
      const actions = calls.map((call) => call.action);
      const lastSmokeCheck = actions.lastIndexOf('GetCommandInvocation');
      const firstGrant = actions.indexOf('ModifySnapshotAttribute');
      const firstVersion = calls.findIndex((call) => call.action === 'PutParameter' && call.service === 'ssm' && calls.indexOf(call) > lastSmokeCheck);
      expect(lastSmokeCheck).toBeGreaterThan(-1);
      expect(firstGrant).toBeGreaterThan(lastSmokeCheck);
      expect(firstVersion).toBeGreaterThan(firstGrant);

      const verify = await project.gild(['verify'], env());
      expect({ exitCode: verify.exitCode, stdout: verify.stdout }).toEqual({ exitCode: 0, stdout: expect.stringMatching(/^verified web: every pointer names/) });
    } finally {
      await project.remove();
    }
  });

  it('leaves an AMI whose smoke test failed shared with nobody', { timeout: 180_000 }, async () => {
    const project = await createTempProject({ images: { 'web.ts': shared("{ checks: [{ name: 'kernel is patched', run: 'check-kernel FAIL-ME' }], onFailure: 'keep' }") } });
    emulator.proxy.setRules({ commands: [{ marker: 'FAIL-ME', status: 'Failed', exitCode: 3, stderr: 'kernel 5.10 is vulnerable' }] });
    try {
      const result = await project.gild(['run'], env());
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(/web failed in smoke: smoke test failed/);

      for (const region of regions) {
        expect(await parametersUnder(emulator.moto.endpoint, region, '/golden')).toEqual({});
        const amis = await sharingOf(emulator.moto.endpoint, region);
        // gild's region copies (the default): a failing image is never copied, so the copy region holds nothing of it.
        if (region !== regions[0]) {
          expect(amis, region).toEqual([]);
          continue;
        }
        // Kept on purpose (onFailure: 'keep'), so there is an AMI to look at: no one outside the account may use it.
        expect(amis, region).toEqual([{ amiId: expect.any(String), status: 'failed', launch: [], snapshots: expect.any(Number), volumes: expect.any(Array) }]);
        expect(amis[0]!.volumes.flat(), region).toEqual([]);
      }
    } finally {
      await project.remove();
    }
  });

  it('resumes a run killed after sharing but before publishing: shares again, changing nothing, then publishes', { timeout: 300_000 }, async () => {
    const project = await createTempProject({ images: { 'web.ts': shared("{ checks: [{ name: 'serves', run: 'true' }] }") } });
    try {
      // The kill point: the first versions/1.0.0 write of the publish, held unanswered; every share is done by then.
      let held!: () => void;
      const reached = new Promise<void>((resolve) => (held = resolve));
      emulator.proxy.setRules({ holds: [{ service: 'ssm', action: 'PutParameter', bodyIncludes: '/golden/web/versions/1.0.0', onHeld: () => held() }] });
      const child = project.spawn(['run'], env());
      const ended = child.then((result) => result);
      await Promise.race([
        reached,
        ended.then((result) => Promise.reject(new Error(`gild ended before the kill point (exit ${result.exitCode}):\n${String(result.stdout)}\n${String(result.stderr)}`))),
      ]);
      child.kill('SIGKILL');
      expect((await ended).signal).toBe('SIGKILL');
      emulator.proxy.reset();
      for (const region of regions)
        expect((await sharingOf(emulator.moto.endpoint, region)).map((ami) => ({ status: ami.status, launch: ami.launch }))).toEqual([{ status: 'tested', launch: accounts }]);

      const calls: (ProxyCall & { body: string })[] = [];
      emulator.proxy.setRules({ onCall: (call, body) => calls.push({ ...call, body }) });
      const result = await project.gild(['run'], env());
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
      // What the resumed run planned before applying it.
      const plan = planPrintedBy(result);
      expect(plan).toMatch(/resume 1\.0\.0 from run/);
      expect(plan).toContain('share 1.0.0 in us-west-2 — after the smoke test, set the description and share with account 111122223333, account 444455556666');
      // Shared already: the share steps read, found nothing to change, and changed no grant. (The description is
      // set again: moto accepts it but never stores it, so the AMI never reads back as described.)
      expect(calls.filter((call) => call.action === 'DescribeImageAttribute').length).toBeGreaterThanOrEqual(regions.length);
      const grants = calls.filter(
        (call) => call.action === 'ModifySnapshotAttribute' || (call.action === 'ModifyImageAttribute' && call.service === 'ec2' && !call.body.includes('Description.Value')),
      );
      expect(grants).toEqual([]);
      expect(await convergenceViolations(emulator.moto.endpoint, { web: regions })).toEqual([]);
      for (const region of regions)
        expect((await sharingOf(emulator.moto.endpoint, region)).map((ami) => ({ status: ami.status, launch: ami.launch }))).toEqual([{ status: 'published', launch: accounts }]);
      expect((await project.gild(['verify'], env())).exitCode).toBe(0);
    } finally {
      await project.remove();
    }
  });
});
