/**
 * Emulator preparation reads each base once per run, however many images share it: a fleet's `gild run --local`
 * must not pay a serial GetParameter per image before it even plans (issue 11).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { GetParameterCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareEmulator } from '../../src/local/prepare-emulator.ts';
import { createLogger } from '../../src/logger.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const ec2 = new EC2Client(config);
const ssm = new SSMClient(config);
const autoscaling = new AutoScalingClient(config);
const clients = { ec2: () => ec2, ssm: () => ssm, autoscaling: () => autoscaling, ec2Endpoint: undefined, defaultRegion: 'us-east-1', destroy: () => {} };

const al2023 = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
const ubuntu = '/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id';

describe('prepareEmulator', () => {
  afterEach(() => mockClient(ssm).restore());

  it('reads the bases ten names a call and looks each stand-in up once, for a whole fleet', async () => {
    const ssmMock = mockClient(ssm);
    ssmMock.on(GetParametersCommand).resolves({ Parameters: [{ Name: al2023, Value: 'ami-00000000000000a23', Version: 1 }] });
    ssmMock.on(GetParameterCommand, { Name: al2023 }).resolves({ Parameter: { Name: al2023, Value: 'ami-00000000000000a23', Version: 1 } });
    const images = [
      ...Array.from({ length: 5 }, (_, index) => resolvedImageFixture({ name: `on-al2023-${index}`, base: { kind: 'ssm', parameter: al2023 } })),
      ...Array.from({ length: 2 }, (_, index) => resolvedImageFixture({ name: `on-ubuntu-${index}`, base: { kind: 'ssm', parameter: ubuntu } })),
      ...Array.from({ length: 5 }, (_, index) => resolvedImageFixture({ name: `on-gild-${index}`, base: { kind: 'image', image: 'on-al2023-0', range: undefined } })),
    ];
    const logged: string[] = [];

    const preparation = await prepareEmulator(
      'http://127.0.0.1:1',
      clients,
      images,
      createLogger((_, line) => logged.push(line)),
    );

    const batches = ssmMock.commandCalls(GetParametersCommand).map((call) => call.args[0].input.Names);
    expect(batches).toEqual([[al2023, ubuntu]]);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(preparation.baseOverrides).toEqual({ 'on-ubuntu-0': 'ami-00000000000000a23', 'on-ubuntu-1': 'ami-00000000000000a23' });
    expect(Object.keys(preparation.standInSources)).toEqual(images.slice(7).map((image) => image.name));
    // Each stand-in is still said, in definition order.
    expect(logged).toEqual([expect.stringMatching(/^emulator: on-ubuntu-0's base .*ubuntu.* standing in ami-00000000000000a23/), expect.stringMatching(/^emulator: on-ubuntu-1's base/)]);
  });
});
