/**
 * Failures through the real CLI: a Packer build that fails, a smoke check that
 * fails (injected by the fault proxy, since moto runs nothing), and SIGINT
 * during the smoke stage. Nothing may be published and no instance left running.
 */
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource } from '../support/project.ts';
import { awsClients, liveGildInstances, parametersUnder } from '../support/aws-state.ts';

describe('a failing image is never published', () => {
  const emulator = useMotoBehindFaultProxy();

  it('reports a failed Packer build with its log, publishes nothing, and still publishes the other images', async () => {
    const project = await createTempProject({
      images: {
        'broken.ts': imageSource({ name: 'broken', base: "{ ami: 'ami-0123456789abcdef0' }" }),
        'fine.ts': imageSource({ name: 'fine' }),
      },
    });
    try {
      const result = await project.gild(['run'], emulator.moto.env);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(/broken failed in build: Packer build failed for image "broken": .+/);
      expect(result.stdout).toMatch(/- full log: \.gild\/runs\/.+\/broken\.log/);
      expect(result.stdout).toMatch(/fine 1\.0\.0 published/);
      expect(result.stderr).toContain('gild: 1 image failed: broken.');
      expect(await parametersUnder(emulator.moto.endpoint, 'us-east-1', '/golden/broken')).toEqual({});
      expect(Object.keys(await parametersUnder(emulator.moto.endpoint, 'us-east-1', '/golden/fine'))).toContain('/golden/fine/latest');
      expect(await liveGildInstances(emulator.moto.endpoint)).toEqual([]);
    } finally {
      await project.remove();
    }
  });

  it('does not publish an image whose smoke check fails, and skips the image built on it', async () => {
    const project = await createTempProject({
      images: {
        'base.ts': imageSource({ name: 'base', extra: "smoke: { checks: [{ name: 'kernel is patched', run: 'check-kernel FAIL-ME' }] }," }),
        'app.ts': imageSource({ name: 'app', base: "{ image: 'base' }" }),
      },
    });
    emulator.proxy.setRules({ commands: [{ marker: 'FAIL-ME', status: 'Failed', exitCode: 3, stderr: 'kernel 5.10 is vulnerable' }] });
    try {
      const result = await project.gild(['run'], emulator.proxy.env(emulator.moto.env));
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toMatch(/base failed in smoke: smoke test failed: .*kernel is patched/);
      expect(result.stdout).toMatch(/app skipped: its base image "base" was not published/);
      expect(await parametersUnder(emulator.moto.endpoint, 'us-east-1', '/golden')).toEqual({});
      expect(await parametersUnder(emulator.moto.endpoint, 'us-west-2', '/golden')).toEqual({});
      expect(await liveGildInstances(emulator.moto.endpoint)).toEqual([]);
    } finally {
      await project.remove();
    }
  });

  it('terminates the smoke instance when gild is interrupted with SIGINT', async () => {
    const project = await createTempProject({
      images: { 'slow.ts': imageSource({ name: 'slow', regions: "{ build: 'us-east-1' }", extra: "smoke: { checks: [{ name: 'never ends', run: 'sleep infinity HANG-ME' }] }," }) },
    });
    try {
      // Interrupt once the check is running: the proxy reports the first poll of its result.
      let checkRunning!: () => void;
      const polled = new Promise<void>((resolve) => (checkRunning = resolve));
      emulator.proxy.setRules({ commands: [{ marker: 'HANG-ME', status: 'InProgress' }], onCall: (call) => call.action === 'GetCommandInvocation' && checkRunning() });
      const child = project.spawn(['run'], { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100' });
      await polled;
      const { ec2 } = awsClients(emulator.moto.endpoint);
      const found = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'tag:gild:role', Values: ['smoke'] },
            { Name: 'instance-state-name', Values: ['running'] },
          ],
        }),
      );
      const smokeInstance = found.Reservations?.[0]?.Instances?.[0]?.InstanceId;
      expect(smokeInstance, 'a smoke instance was launched').toBeDefined();
      child.kill('SIGINT');
      const result = await child;
      expect(result.exitCode, String(result.stdout) + String(result.stderr)).toBe(130);
      const after = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [smokeInstance!] }));
      expect(after.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('terminated');
      expect(await liveGildInstances(emulator.moto.endpoint)).toEqual([]);
      expect(await parametersUnder(emulator.moto.endpoint, 'us-east-1', '/golden')).toEqual({});
    } finally {
      await project.remove();
    }
  });
});
