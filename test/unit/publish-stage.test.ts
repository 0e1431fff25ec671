/**
 * Publish at the adapter seam: moto never fails a PutParameter halfway, so the
 * rollback is proven with stubbed SSM clients, one per region.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { publishStage } from '../../src/stages/publish.ts';
import { smokeRun } from '../support/smoke-fixture.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

function setup() {
  const regions = ['us-east-1', 'eu-west-1'];
  const ssmClients = Object.fromEntries(regions.map((region) => [region, new SSMClient({ region })]));
  const ec2 = new EC2Client({ region: 'us-east-1' });
  mockClient(ec2).onAnyCommand().resolves({});
  const mocks = Object.fromEntries(regions.map((region) => [region, mockClient(ssmClients[region]!)]));
  const clients = { ec2: () => ec2, ssm: (region: string) => ssmClients[region]!, ec2Endpoint: undefined, defaultRegion: 'us-east-1', destroy() {} };
  const context = createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients });
  const image = resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1', copyRegions: ['eu-west-1'], regions });
  const run = smokeRun(image, { logDir: '/tmp', amis: { 'us-east-1': 'ami-new1', 'eu-west-1': 'ami-new2' } });
  run.state.version = '1.0.5';
  return { context, run, mocks };
}

describe('publish', () => {
  it('writes versions/<v> in every region before latest in any region', async () => {
    const { context, run, mocks } = setup();
    const order: string[] = [];
    for (const [region, mock] of Object.entries(mocks)) {
      mock.on(GetParameterCommand).resolves({ Parameter: { Value: `ami-prev-${region}` } });
      mock.on(PutParameterCommand).callsFake((input) => void order.push(`${region} ${input.Name}`));
    }
    expect(await publishStage.run(context, run)).toEqual({ status: 'done' });
    expect(order.slice(0, 2).every((entry) => entry.includes('/versions/1.0.5'))).toBe(true);
    expect(order.slice(2)).toEqual(['us-east-1 /golden/web/latest', 'eu-west-1 /golden/web/latest']);
  });

  it('rolls back every write when latest fails in the second region, restoring the previous latest', async () => {
    const { context, run, mocks } = setup();
    const east = mocks['us-east-1']!;
    const west = mocks['eu-west-1']!;
    east.on(GetParameterCommand).resolves({ Parameter: { Value: 'ami-prev-east' } });
    west.on(GetParameterCommand).resolves({ Parameter: { Value: 'ami-prev-west' } });
    east.on(PutParameterCommand).resolves({});
    west.on(PutParameterCommand, { Name: '/golden/web/versions/1.0.5' }).resolves({});
    west.on(PutParameterCommand, { Name: '/golden/web/latest' }).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    const outcome = await publishStage.run(context, run);
    expect(outcome).toMatchObject({ status: 'failed' });
    expect((outcome as { reason: string }).reason).toMatch(/publishing web 1\.0\.5 failed and was rolled back: AWS refused to write parameter \/golden\/web\/latest: ThrottlingException: Rate exceeded/);
    // us-east-1's latest went back to what it was; both versions/1.0.5 were deleted.
    const eastPuts = east.commandCalls(PutParameterCommand).map((call) => [call.args[0].input.Name, call.args[0].input.Value]);
    expect(eastPuts.at(-1)).toEqual(['/golden/web/latest', 'ami-prev-east']);
    expect(east.commandCalls(DeleteParameterCommand).map((call) => call.args[0].input.Name)).toEqual(['/golden/web/versions/1.0.5']);
    expect(west.commandCalls(DeleteParameterCommand).map((call) => call.args[0].input.Name)).toEqual(['/golden/web/versions/1.0.5']);
    expect(run.state.published).toBeUndefined();
  });
});
