/**
 * Retirement says what it cannot see, through the real CLI on moto with real Packer: the plan retiring a version
 * shared with another account says so. (A snapshot that also backs another AMI cannot be made on moto: its
 * RegisterImage ignores BlockDeviceMappings and makes a snapshot of its own. That part is shown at the adapter seam,
 * test/unit/observe-retirement-sight.test.ts, and in the plan, test/unit/plan-retirement-sight.test.ts.)
 */
import { DescribeImagesCommand, ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { getParameter } from '../../src/adapters/ssm.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource } from '../support/project.ts';

const region = 'us-east-1';

describe('retirement sees sharing and shared snapshots', () => {
  const emulator = useMotoBehindFaultProxy();

  it('says in the plan that a retired version is shared and whose use it cannot see', async () => {
    const project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', regions: "{ build: 'us-east-1' }", extra: 'retention: { keep: 1 },' }) } });
    const env = { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100' };
    const aws = createAwsClients(env);
    try {
      const first = await project.gild(['run'], env);
      expect(first.exitCode, first.stdout + first.stderr).toBe(0);
      const ec2 = aws.ec2(region);
      const oldAmi = (await getParameter(aws.ssm(region), '/golden/web/versions/1.0.0'))!.value;
      await ec2.send(new ModifyImageAttributeCommand({ ImageId: oldAmi, LaunchPermission: { Add: [{ UserId: '111122223333' }] } }));

      const planned = await project.gild(['plan', '--force'], env);
      expect(planned.exitCode, planned.stderr).toBe(0);
      expect(planned.stdout).toContain('shared with account 111122223333: their use is not visible to this account');
      expect(planned.stdout).toMatch(new RegExp(`retire \\(deregister\\) 1\\.0\\.0 in us-east-1: ${oldAmi}.*shared with account 111122223333`));

      const second = await project.gild(['run', '--force'], env);
      expect(second.exitCode, second.stdout + second.stderr).toBe(0);
      expect((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!.map((image) => image.ImageId)).not.toContain(oldAmi);
    } finally {
      aws.destroy();
      await project.remove();
    }
  });
});
