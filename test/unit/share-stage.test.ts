/**
 * The share stage at the adapter seam, with a stubbed EC2 client backed by a
 * small store of grants: its check refuses an AMI that is no longer this
 * image's and version's, and its run makes the grants exactly what the step
 * says, changes nothing when they already are, recognises a lost answer by
 * reading back, and never makes an image public that its definition does not.
 * (The integration test `share.test.ts` runs it against moto and real Packer;
 * moto cannot lose an answer or move tags under a running step.)
 */
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  EC2Client,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  type LaunchPermission,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { StepFailure } from '../../src/apply/step-stage.ts';
import { createContext } from '../../src/context.ts';
import type { LaunchPermissions } from '../../src/definition/resolved-image.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { shareRefusal, shareStage } from '../../src/stages/share.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const amiId = 'ami-new1';
const snapshotId = 'snap-new1';
const gildTags = { 'gild:image': 'web', 'gild:version': '1.0.5', 'gild:status': 'tested' };
const accounts: LaunchPermissions = { kind: 'explicit', accounts: ['111122223333'], organizationArns: [], organizationalUnitArns: [] };

const step = (overrides: Partial<StepOfKind<'share'>> = {}): StepOfKind<'share'> => ({
  id: 'share:web:us-east-1',
  kind: 'share',
  image: 'web',
  version: '1.0.5',
  region: 'us-east-1',
  amis: { from: 'build:web' },
  launchPermissions: { accounts: ['111122223333'], groups: [], organizationArns: [], organizationalUnitArns: [] },
  volumePermissions: { accounts: ['111122223333'], groups: [] },
  description: 'Web server: {{ .SourceAMI }} stays as written',
  after: ['smoke:web'],
  reason: 'test',
  precondition: 'test',
  ...overrides,
});

function setup(
  options: {
    description?: string;
    tags?: Record<string, string>;
    state?: string;
    launch?: LaunchPermission[];
    volumes?: { UserId?: string; Group?: 'all' }[];
    launchPermissions?: LaunchPermissions;
  } = {},
) {
  const ec2 = new EC2Client({ region: 'us-east-1' });
  const mock = mockClient(ec2);
  const launch: LaunchPermission[] = [...(options.launch ?? [])];
  let volumes = [...(options.volumes ?? [])];
  const modifications: string[] = [];
  const key = (permission: LaunchPermission) => JSON.stringify(permission);
  mock.on(DescribeImagesCommand).resolves({
    Images: [
      {
        ImageId: amiId,
        Description: options.description ?? step().description,
        State: (options.state ?? 'available') as 'available',
        Tags: Object.entries(options.tags ?? gildTags).map(([Key, Value]) => ({ Key, Value })),
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }],
      },
    ],
  });
  mock.on(DescribeImageAttributeCommand).callsFake(async () => ({ LaunchPermissions: [...launch] }));
  mock
    .on(ModifyImageAttributeCommand)
    .callsFake(async ({ LaunchPermission: change, Description }: { LaunchPermission?: { Add?: LaunchPermission[]; Remove?: LaunchPermission[] }; Description?: { Value?: string } }) => {
      if (!change) {
        modifications.push(`description ${JSON.stringify(Description?.Value)}`);
        return {};
      }
      for (const removed of change.Remove ?? [])
        launch.splice(
          launch.findIndex((permission) => key(permission) === key(removed)),
          1,
        );
      for (const added of change.Add ?? []) if (!launch.some((permission) => key(permission) === key(added))) launch.push(added);
      modifications.push(`image ${JSON.stringify(change)}`);
      return {};
    });
  mock.on(DescribeSnapshotAttributeCommand).callsFake(async () => ({ CreateVolumePermissions: [...volumes] }));
  mock.on(ModifySnapshotAttributeCommand).callsFake(async ({ OperationType, UserIds = [], GroupNames = [] }: { OperationType: string; UserIds?: string[]; GroupNames?: 'all'[] }) => {
    const named = [...UserIds.map((UserId) => ({ UserId })), ...GroupNames.map((Group) => ({ Group }))];
    volumes = OperationType === 'add' ? [...volumes, ...named] : volumes.filter((permission) => !named.some((removed) => key(removed) === key(permission)));
    modifications.push(`snapshot ${OperationType} ${JSON.stringify(named)}`);
    return {};
  });
  const clients = {
    ec2: () => ec2,
    ssm: () => {
      throw new Error('not used');
    },
    autoscaling: () => {
      throw new Error('not used');
    },
    ec2Endpoint: undefined,
    defaultRegion: 'us-east-1',
    destroy() {},
  };
  const context = createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients: clients as never });
  const image = resolvedImageFixture({ name: 'web', launchPermissions: options.launchPermissions ?? accounts });
  const run = stepRunFixture(image, { outputs: { 'build:web': { kind: 'build', output: { amis: { 'us-east-1': amiId }, snapshots: { 'us-east-1': [snapshotId] }, baseAmiId: 'ami-base' } } } });
  return { context, run, mock, launch, volumes: () => volumes, modifications };
}

describe('share', () => {
  it.each([
    ['another version', { ...gildTags, 'gild:version': '1.0.6' }, 'is now tagged gild:image=web gild:version=1.0.6, not web 1.0.5: it is not shared'],
    ['another image', { ...gildTags, 'gild:image': 'api' }, 'is now tagged gild:image=api gild:version=1.0.5, not web 1.0.5: it is not shared'],
    ['no gild tags at all', {}, 'is now tagged gild:image=(none) gild:version=(none), not web 1.0.5: it is not shared'],
  ])('refuses an AMI whose tags moved to %s, and changes nothing', async (_case, tags, reason) => {
    const { context, run, modifications } = setup({ tags });

    expect(await shareStage.check!(context, step(), run)).toBe(`${amiId} in us-east-1 ${reason}`);
    await expect(shareStage.run(context, step(), run)).rejects.toThrow(StepFailure);
    expect(modifications).toEqual([]);
  });

  it('refuses an AMI that is gone, not available, or failed', () => {
    expect(shareRefusal(step(), amiId, undefined)).toBe('ami-new1 in us-east-1 no longer exists');
    expect(shareRefusal(step(), amiId, { state: 'pending', tags: gildTags })).toBe('ami-new1 in us-east-1 is pending, not available');
    expect(shareRefusal(step(), amiId, { state: 'available', tags: { ...gildTags, 'gild:status': 'failed' } })).toBe(
      'ami-new1 in us-east-1 is tagged gild:status=failed: a failed image is never shared',
    );
    expect(shareRefusal(step(), amiId, { state: 'available', tags: gildTags })).toBe(false);
  });

  it('grants exactly what the step says: adds the missing account, removes an extra one and a public snapshot', async () => {
    const { context, run, launch, volumes, modifications } = setup({ launch: [{ UserId: '999988887777' }], volumes: [{ Group: 'all' }] });

    expect(await shareStage.check!(context, step(), run)).toBe(false);
    expect(await shareStage.run(context, step(), run)).toEqual({ amiId, snapshotIds: [snapshotId] });

    expect(launch).toEqual([{ UserId: '111122223333' }]);
    expect(volumes()).toEqual([{ UserId: '111122223333' }]);
    // Removal first on the snapshot: it is never both public and shared.
    expect(modifications).toEqual(['image {"Add":[{"UserId":"111122223333"}],"Remove":[{"UserId":"999988887777"}]}', 'snapshot remove [{"Group":"all"}]', 'snapshot add [{"UserId":"111122223333"}]']);
    expect(run.logger.lines.join('\n')).toContain('removed grants the definition does not list from ami-new1 in us-east-1 or its snapshots: account 999988887777, everyone (public)');
    expect(run.summary).toEqual(['shared 1.0.5 in us-east-1 (ami-new1 and 1 snapshot) with account 111122223333']);
  });

  it('reads the AMI once: the run that follows its check shares on the check’s read', async () => {
    const { context, run, mock, launch } = setup();

    expect(await shareStage.check!(context, step(), run)).toBe(false);
    await shareStage.run(context, step(), run);

    expect(mock.commandCalls(DescribeImagesCommand)).toHaveLength(1);
    expect(launch).toEqual([{ UserId: '111122223333' }]);
  });

  it('changes nothing when the grants already are as defined: a retry is harmless', async () => {
    const { context, run, modifications } = setup({ launch: [{ UserId: '111122223333' }], volumes: [{ UserId: '111122223333' }] });

    await shareStage.run(context, step(), run);

    expect(modifications).toEqual([]);
  });

  it('sets the description, exactly as written, only when the AMI does not already carry it; a private image is granted to nobody', async () => {
    const { context, run, modifications } = setup({ description: '', launchPermissions: { kind: 'implicit' } as LaunchPermissions, launch: [{ UserId: '999988887777' }] });
    const privateStep = step({ launchPermissions: { accounts: [], groups: [], organizationArns: [], organizationalUnitArns: [] }, volumePermissions: { accounts: [], groups: [] } });

    await shareStage.run(context, privateStep, run);

    expect(modifications).toEqual(['description "Web server: {{ .SourceAMI }} stays as written"', 'image {"Remove":[{"UserId":"999988887777"}]}']);
    expect(run.summary).toEqual(['1.0.5 in us-east-1 (ami-new1): description set, private']);
    const again = setup({ launch: [{ UserId: '111122223333' }], volumes: [{ UserId: '111122223333' }] });
    await shareStage.run(again.context, step(), again.run);
    expect(again.modifications).toEqual([]);
  });

  it('recognises a lost answer by reading back: the change landed, so the step is done', async () => {
    const { context, run, mock, launch } = setup();
    mock.on(ModifyImageAttributeCommand).callsFake(async () => {
      launch.push({ UserId: '111122223333' });
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    });

    expect(await shareStage.run(context, step(), run)).toEqual({ amiId, snapshotIds: [snapshotId] });
    expect(launch).toEqual([{ UserId: '111122223333' }]);
  });

  it('fails with the cause when the change did not land', async () => {
    const { context, run, mock } = setup();
    mock.on(ModifyImageAttributeCommand).rejects(Object.assign(new Error('You are not authorized to perform: ec2:ModifyImageAttribute'), { name: 'UnauthorizedOperation' }));

    const failure = await shareStage.run(context, step(), run).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as StepFailure).message).toMatch(/^could not share ami-new1 in us-east-1 as defined: .*ec2:ModifyImageAttribute/);
    expect((failure as StepFailure).cause).toBeDefined();
  });

  it('never makes an image public that its definition does not say is public, whatever the plan says', async () => {
    const { context, run, modifications } = setup();
    const publicStep = step({ launchPermissions: { accounts: [], groups: ['all'], organizationArns: [], organizationalUnitArns: [] }, volumePermissions: { accounts: [], groups: ['all'] } });

    await expect(shareStage.run(context, publicStep, run)).rejects.toThrow(
      'the plan would make ami-new1 in us-east-1 public, but images/web.ts does not say launchPermissions: { public: true, reason }',
    );
    expect(modifications).toEqual([]);
  });
});
