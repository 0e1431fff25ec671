/**
 * A gild Context over real SDK clients for aws-sdk-client-mock to stub (the adapter seam), on AWS's target profile
 * unless told otherwise: the set-up the stage tests at the seam share (unbin, protect, restore, retire, the inventory's
 * Recycle Bin read).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { RbinClient } from '../../src/adapters/rbin.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { awsProfile } from '../../src/target/aws-profile.ts';
import type { TargetProfile } from '../../src/target/target-profile.ts';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

/** An EC2 and an SSM client that send nowhere until stubbed (every region gets the same one). */
export function mockableClients(): { ec2: EC2Client; ssm: SSMClient } {
  return { ec2: new EC2Client(config), ssm: new SSMClient(config) };
}

export function contextOver(clients: { ec2: EC2Client; ssm: SSMClient; rbin?: RbinClient }, target: TargetProfile = awsProfile): Context {
  return createContext({
    cwd: '/tmp',
    env: {},
    logger: createMemoryLogger(),
    settings: pipelineSettingsSchema.parse({}),
    clients: {
      ec2: () => clients.ec2,
      ssm: () => clients.ssm,
      ...(clients.rbin ? { rbin: () => clients.rbin } : {}),
      ec2Endpoint: undefined,
      defaultRegion: 'us-east-1',
      destroy() {},
    },
    now: () => new Date('2026-11-29T00:00:00.000Z'),
    target,
  } as never);
}
