/**
 * The unmark-descendant stage at the adapter seam (aws-sdk-client-mock): it deletes gild:base-revoked only where the
 * AMI still carries the mark the plan saw, and a retry after the mark is gone writes nothing. The moto proof is the
 * restore case of test/integration/lifecycle-commands.test.ts.
 */
import { DeleteTagsCommand, DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { unmarkDescendantStage } from '../../src/stages/unmark-descendant.ts';
import { awsProfile } from '../../src/target/aws-profile.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const ec2 = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const context = createContext({
  cwd: '/tmp',
  env: {},
  logger: createMemoryLogger(),
  settings: pipelineSettingsSchema.parse({}),
  clients: { ec2: () => ec2, ssm: () => undefined, ec2Endpoint: undefined, defaultRegion: 'us-east-1', destroy() {} },
  now: () => new Date('2026-11-29T00:00:00.000Z'),
  target: awsProfile,
} as never);
const image = resolvedImageFixture({ name: 'api', version: '1.0.1' });

afterEach(() => {
  mockClient(ec2).restore();
});

const mark = 'api 1.0.1: CVE-1';
const step: StepOfKind<'unmark-descendant'> = {
  id: 'unmark-descendant:api:1.0.1:app:1.0.0:us-east-1',
  kind: 'unmark-descendant',
  image: 'api',
  version: '1.0.1',
  region: 'us-east-1',
  amiId: 'ami-app',
  descendant: { image: 'app', version: '1.0.0' },
  tag: mark,
  after: ['lock:api'],
  reason: 'test',
  precondition: 'test',
};
const described = (tags: Record<string, string>): { Images: Image[] } => ({
  Images: [{ ImageId: 'ami-app', State: 'available', Tags: Object.entries({ 'gild:image': 'app', 'gild:version': '1.0.0', ...tags }).map(([Key, Value]) => ({ Key, Value })) }],
});

describe('unmark-descendant', () => {
  it('deletes gild:base-revoked from the AMI that still carries the planned mark', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImagesCommand).resolves(described({ 'gild:base-revoked': mark }));
    ec2Mock.on(DeleteTagsCommand).resolves({});
    expect(await unmarkDescendantStage.check!(context, step, stepRunFixture(image))).toBe(false);
    expect(await unmarkDescendantStage.run(context, step, stepRunFixture(image))).toEqual({ amiId: 'ami-app', unmarked: true });
    expect(ec2Mock.commandCalls(DeleteTagsCommand).map((call) => call.args[0].input)).toEqual([{ Resources: ['ami-app'], Tags: [{ Key: 'gild:base-revoked' }] }]);
  });

  it('leaves a mark another revoke put there since, and a retracted or retired AMI, saying why', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock
      .on(DescribeImagesCommand)
      .resolvesOnce(described({ 'gild:base-revoked': 'base 2.0.0 → api 1.0.1: CVE-9' }))
      .resolvesOnce(described({ 'gild:version': '9.9.9' }))
      .resolvesOnce({ Images: [] });
    expect(await unmarkDescendantStage.check!(context, step, stepRunFixture(image))).toMatch(/now carries another gild:base-revoked mark \(base 2\.0\.0 → api 1\.0\.1: CVE-9\); it stays/);
    expect(await unmarkDescendantStage.check!(context, step, stepRunFixture(image))).toMatch(/no longer tagged app 1\.0\.0/);
    expect(await unmarkDescendantStage.check!(context, step, stepRunFixture(image))).toMatch(/is gone: nothing left to un-mark/);
    expect(ec2Mock.commandCalls(DeleteTagsCommand)).toHaveLength(0);
  });

  it('a retry after the mark is gone writes nothing', async () => {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImagesCommand).resolves(described({}));
    expect(await unmarkDescendantStage.check!(context, step, stepRunFixture(image))).toBe(false);
    expect(await unmarkDescendantStage.run(context, step, stepRunFixture(image))).toEqual({ amiId: 'ami-app', unmarked: false });
    expect(ec2Mock.commandCalls(DeleteTagsCommand)).toHaveLength(0);
  });
});
