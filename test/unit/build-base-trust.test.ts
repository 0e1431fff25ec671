/**
 * The build of an image whose base another process published (a CI job's base, built by another job of the same
 * saved plan) builds on that version only as AWS shows it now: a version revoked since (its status parameter), a
 * parameter naming an AMI that is not that version, or an AMI tagged revoked is refused before Packer is run.
 * At the adapter seam: the stage stops before it renders or builds anything.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { StepFailure } from '../../src/apply/step-stage.ts';
import { createContext } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { createBuildStage } from '../../src/stages/build.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const tags = (overrides: Record<string, string> = {}) =>
  Object.entries({ 'gild:image': 'base', 'gild:version': '1.0.0', 'gild:status': 'published', ...overrides }).map(([Key, Value]) => ({ Key, Value }));

function setup(parameters: { Name: string; Value: string }[], amiTags: { Key: string; Value: string }[] | undefined, from = 'publish:base') {
  const ssm = new SSMClient({ region: 'us-east-1' });
  const ec2 = new EC2Client({ region: 'us-east-1' });
  mockClient(ssm)
    .on(GetParametersCommand)
    .resolves({ Parameters: parameters.map((parameter) => ({ ...parameter, Version: 1 })) });
  mockClient(ec2)
    .on(DescribeImagesCommand)
    .resolves({ Images: amiTags ? [{ ImageId: 'ami-base1', State: 'available', Tags: amiTags }] : [] });
  let packerAsked = false;
  const clients = {
    ec2: () => ec2,
    ssm: () => ssm,
    autoscaling: () => {
      throw new Error('not used');
    },
    ec2Endpoint: undefined,
    defaultRegion: 'us-east-1',
    destroy() {},
  };
  const context = createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients });
  const stage = createBuildStage({
    packer: async () => {
      packerAsked = true;
      throw new Error('the build went on to Packer');
    },
    gitCommit: async () => undefined,
    packerRuns: new Map(),
  });
  const image = resolvedImageFixture({ name: 'app', buildRegion: 'us-east-1', regions: ['us-east-1'] });
  const step = {
    id: 'build:app',
    kind: 'build',
    image: 'app',
    version: '1.0.0',
    amiName: 'app-1.0.0',
    fingerprint: 'f',
    base: { kind: 'published-in-run', from, image: 'base', version: '1.0.0', source: 'image:base → 1.0.0' },
    after: [],
    reason: 'test',
  } as unknown as StepOfKind<'build'>;
  return { build: () => stage.run(context, step, stepRunFixture(image)), packerAsked: () => packerAsked };
}

const version = { Name: '/golden/base/versions/1.0.0', Value: 'ami-base1' };

describe('build on a base another job published', () => {
  it('refuses a version its status parameter says was revoked', async () => {
    const { build, packerAsked } = setup(
      [version, { Name: '/golden/base/status/1.0.0', Value: JSON.stringify({ revoked: { reason: 'bad kernel', at: '2026-12-07T01:00:00Z', by: 'alice' } }) }],
      tags(),
    );
    const refused = build();
    await expect(refused).rejects.toBeInstanceOf(StepFailure);
    await expect(refused).rejects.toMatchObject({ message: 'base image "base" 1.0.0 was revoked (bad kernel; by alice at 2026-12-07T01:00:00Z), as its status parameter in us-east-1 says' });
    expect(packerAsked()).toBe(false);
  });

  it('refuses an AMI tagged revoked, or one that is not the version its parameter names', async () => {
    await expect(setup([version], tags({ 'gild:status': 'revoked', 'gild:revoked-reason': 'bad kernel' })).build()).rejects.toMatchObject({
      message: 'base image "base" 1.0.0: its AMI ami-base1 in us-east-1 is tagged gild:status=revoked (bad kernel)',
    });
    await expect(setup([version], tags({ 'gild:version': '0.9.0' })).build()).rejects.toMatchObject({ message: expect.stringContaining("names ami-base1, which is not gild's base 1.0.0") });
    await expect(setup([version], undefined).build()).rejects.toMatchObject({ message: expect.stringContaining('names ami-base1, which no longer exists') });
  });

  it('refuses a version not published, naming the parameter', async () => {
    await expect(setup([], undefined).build()).rejects.toMatchObject({
      message: 'base image "base" 1.0.0 is not published in us-east-1 (/golden/base/versions/1.0.0 does not exist)',
      details: ['run `gild run base` first'],
    });
  });

  it('builds on a good version: it goes on to Packer with it', async () => {
    const { build, packerAsked } = setup([version], tags());
    await expect(build()).rejects.toThrow('the build went on to Packer');
    expect(packerAsked()).toBe(true);
  });

  describe("with gild's region copies: on the base's tested AMI, before the base publishes", () => {
    it('builds on the AMI of that version tagged tested, with no version parameter yet', async () => {
      const { build, packerAsked } = setup([], tags({ 'gild:status': 'tested' }), 'smoke:base');
      await expect(build()).rejects.toThrow('the build went on to Packer');
      expect(packerAsked()).toBe(true);
    });

    it('refuses an AMI its smoke test tagged failed, and a version with no tested AMI yet, before Packer', async () => {
      const failed = setup([], tags({ 'gild:status': 'failed', 'gild:failure': 'smoke test failed' }), 'smoke:base');
      await expect(failed.build()).rejects.toMatchObject({
        message: 'base image "base" 1.0.0 failed its smoke test: its AMI ami-base1 in us-east-1 is tagged gild:status=failed (smoke test failed)',
      });
      const untestedYet = setup([], tags({ 'gild:status': 'candidate' }), 'smoke:base');
      await expect(untestedYet.build()).rejects.toMatchObject({
        message: 'base image "base" 1.0.0 has no AMI in us-east-1 that passed its smoke test',
        details: ['run this job with --wait-for-bases <minutes>, so that it waits for the job building base'],
      });
      expect(failed.packerAsked() || untestedYet.packerAsked()).toBe(false);
    });
  });
});
