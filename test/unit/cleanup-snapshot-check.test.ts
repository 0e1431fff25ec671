/**
 * On real AWS the cleanup stage asks DescribeImages for owned AMIs by
 * `block-device-mapping.snapshot-id` before it deletes snapshots whose AMI
 * the plan found gone. moto does not implement that filter, so the request
 * is proven here at the adapter seam (test/integration/cleanup-checks.test.ts
 * covers the emulator's way against moto).
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../../src/adapters/aws-clients.ts';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { cleanupStage } from '../../src/stages/cleanup.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

describe('snapshot-only cleanup on real AWS', () => {
  it('asks for owned AMIs by snapshot, in any state, and treats one still using them as moved', async () => {
    const ec2 = new EC2Client({ region: 'us-east-1' });
    const mock = mockClient(ec2);
    mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-0user', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-2' } }] }] });
    const clients = {
      ec2: () => ec2,
      ssm: () => {
        throw new Error('not used');
      },
      autoscaling: () => {
        throw new Error('not used');
      },
      ec2Endpoint: undefined,
      defaultRegion: undefined,
      destroy() {},
    } as AwsClients;
    const context = createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients });
    const step = {
      id: 'cleanup:web:us-east-1:snapshots',
      kind: 'cleanup',
      image: 'web',
      region: 'us-east-1',
      amiId: undefined,
      snapshotIds: ['snap-1', 'snap-2'],
      status: '(snapshots only)',
      after: [],
      reason: 'test',
      precondition: 'no AMI uses them',
    } as const;

    const moved = await cleanupStage.check!(context, step, stepRunFixture(undefined));

    expect(moved).toBe('snap-2 in us-east-1 is still used by ami-0user');
    expect(mock.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({ Owners: ['self'], Filters: [{ Name: 'block-device-mapping.snapshot-id', Values: ['snap-1', 'snap-2'] }], IncludeDeprecated: true, IncludeDisabled: true }),
    ]);
  });
});
