/**
 * `gild status` against moto: an instance on a revoked version, a launch
 * template with one version on an old release and one on the current one, and
 * an Auto Scaling group on the old one. Revoked comes first; ages come from
 * the publish stamp, set back by hand here since moto's clock is today's.
 */
import { AutoScalingClient, CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, CreateLaunchTemplateVersionCommand, CreateTagsCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import type { FleetStatus } from '../../src/report/assemble-status.ts';
import { awsClients, parametersUnder } from '../support/aws-state.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource } from '../support/project.ts';

describe('gild status', () => {
  const emulator = useMotoBehindFaultProxy();

  it('lists who runs revoked, old and current versions, revoked first, and gates CI with --fail-on', async () => {
    const project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', regions: "{ build: 'us-east-1' }" }) } });
    const env = emulator.moto.env;
    try {
      for (const args of [['run'], ['run', '--force'], ['run', '--force']]) expect((await project.gild(args, env)).exitCode).toBe(0);
      const parameters = await parametersUnder(emulator.moto.endpoint, 'us-east-1', '/golden/web');
      const ami = (version: string) => parameters[`/golden/web/versions/${version}`]!;
      const { ec2 } = awsClients(emulator.moto.endpoint);
      await ec2.send(
        new CreateTagsCommand({
          Resources: [ami('1.0.0')],
          Tags: [
            { Key: 'gild:status', Value: 'revoked' },
            { Key: 'gild:revoked-reason', Value: 'CVE-2026-1234' },
          ],
        }),
      );
      await ec2.send(new CreateTagsCommand({ Resources: [ami('1.0.1')], Tags: [{ Key: 'gild:published-at', Value: new Date(Date.now() - 40.5 * 86_400_000).toISOString() }] }));
      const instance = await ec2.send(new RunInstancesCommand({ ImageId: ami('1.0.0'), MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
      const instanceId = instance.Instances![0]!.InstanceId!;
      await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web-lt', LaunchTemplateData: { ImageId: ami('1.0.1') } }));
      await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'web-lt', LaunchTemplateData: { ImageId: ami('1.0.2') } }));
      const autoscaling = new AutoScalingClient({ endpoint: emulator.moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      await autoscaling.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: 'web-asg',
          MinSize: 0,
          MaxSize: 0,
          AvailabilityZones: ['us-east-1a'],
          LaunchTemplate: { LaunchTemplateName: 'web-lt', Version: '1' },
        }),
      );

      const result = await project.gild(['status', '--json'], env);
      expect(result.exitCode).toBe(0);
      const status = JSON.parse(result.stdout) as FleetStatus;
      const region = status.images[0]!.regions[0]!;
      expect(region.latest).toEqual({ name: 'latest', amiId: ami('1.0.2'), version: '1.0.2' });
      expect(region.inUse.map((use) => [use.version, use.revoked, use.versionsBehind, use.ageBand, use.users])).toEqual([
        ['1.0.0', true, 2, 'fresh', [`instance ${instanceId} (running)`]],
        ['1.0.1', false, 1, 'old', ['auto scaling group web-asg (launch template web-lt v1)', 'launch template web-lt v1']],
        ['1.0.2', false, 0, 'fresh', ['launch template web-lt v2']],
      ]);
      expect(region.inUse[1]).toMatchObject({ ageDays: 40, daysBehind: 40 });
      expect(status.revokedInUse).toEqual([region.inUse[0]]);

      const text = await project.gild(['status'], env);
      expect(text.stdout.split('\n')[0]).toBe('REVOKED VERSIONS IN USE (1):');
      expect(text.stdout).toContain(`✖ web 1.0.0 us-east-1 ${ami('1.0.0')} (CVE-2026-1234): instance ${instanceId} (running)`);
      expect(text.stdout).toContain(`1.0.1 ${ami('1.0.1')}: 1 version behind (40 days); old, published 40 days ago; used by auto scaling group web-asg`);

      const revokedGate = await project.gild(['status', '--fail-on', 'revoked'], env);
      expect(revokedGate.exitCode).toBe(1);
      expect(revokedGate.stderr).toContain(`gild status --fail-on revoked: web 1.0.0 (${ami('1.0.0')}, us-east-1) is revoked`);
      expect(revokedGate.stderr).not.toContain('40 days old');
      const oldGate = await project.gild(['status', '--fail-on', 'old'], env);
      expect(oldGate.exitCode).toBe(1);
      expect(oldGate.stderr).toContain(`web 1.0.1 (${ami('1.0.1')}, us-east-1) is 40 days old`);
      const badGate = await project.gild(['status', '--fail-on', 'stale'], env);
      expect(badGate.exitCode).toBe(2);
      expect(badGate.stderr).toContain('--fail-on "stale": expected one of revoked, old');
    } finally {
      await project.remove();
    }
  });
});
