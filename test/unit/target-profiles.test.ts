/**
 * Every question the engine asks its target (src/target/target-profile.ts), answered by the AWS profile and by the
 * emulator profile, and each answer followed to the adapter seam (aws-sdk-client-mock) through the stage, observer or
 * renderer that asks it. The AWS side is what moto cannot show: it answers EnableImageDeprecation, DisableImage and
 * DescribeImageReferences with HTTP 500, refuses DescribeParameters' DataType filter, ignores DescribeImages'
 * snapshot-id filter, cannot CopyImage an AMI shared from another account, and its instances have no OS for Packer to
 * connect to. The emulator side is what the integration tests on moto rely on.
 *
 * `questions` is typed by the profile's keys: a question added to the profile without a test here does not compile.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeLaunchConfigurationsCommand } from '@aws-sdk/client-auto-scaling';
import {
  EnableImageDeregistrationProtectionCommand,
  CopyImageCommand,
  CreateTagsCommand,
  DescribeFleetsCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  DescribeSpotFleetRequestsCommand,
  DisableImageCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  GetPasswordDataCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { DescribeParametersCommand, GetParameterCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parse } from '@cdktf/hcl2json';
import { mockClient } from 'aws-sdk-client-mock';
import { constants, generateKeyPairSync, publicEncrypt } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyImageIntoAccount } from '../../src/adapters/ec2.ts';
import { createContext, type Context } from '../../src/context.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { StepOfKind } from '../../src/plan/run-plan.ts';
import { renderImageFiles } from '../../src/render/render-template.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { whyNotRemovable } from '../../src/stages/check-removable.ts';
import { cleanupStage } from '../../src/stages/cleanup.ts';
import { checkWindowsPassword } from '../../src/smoke/check-windows-password.ts';
import { protectStage } from '../../src/stages/protect.ts';
import { retireStage } from '../../src/stages/retire.ts';
import { revokeStage } from '../../src/stages/revoke.ts';
import { awsProfile } from '../../src/target/aws-profile.ts';
import { commandExecutionOf, standInNotRunDetails } from '../../src/target/command-execution.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import type { TargetProfile } from '../../src/target/target-profile.ts';
import { twinBuildOf } from '../../src/target/twin-build.ts';
import { renderInputFixture, resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { smokeImage, smokeRun } from '../support/smoke-fixture.ts';
import { stepRunFixture } from '../support/step-run-fixture.ts';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const ec2 = new EC2Client(config);
const ssm = new SSMClient(config);
const autoscaling = new AutoScalingClient(config);
const clients = { ec2: () => ec2, ssm: () => ssm, autoscaling: () => autoscaling, ec2Endpoint: undefined, defaultRegion: 'us-east-1', destroy() {} };
const sourceEc2 = new EC2Client(config);
const accountEc2 = new EC2Client(config);
const accountSingleAttemptEc2 = new EC2Client(config);

afterEach(() => {
  for (const client of [ec2, sourceEc2, accountEc2, accountSingleAttemptEc2]) mockClient(client).restore();
  mockClient(ssm).restore();
  mockClient(autoscaling).restore();
});

const twins = { engine: { kind: 'podman' as const, binary: '/usr/bin/podman', dockerShimDir: '/tmp/gild-docker-shim' }, containerImages: { web: 'debian:12' } };
const emulator = emulatorProfile({ endpoint: 'http://127.0.0.1:5000', why: '--local started it for this run', standInSources: { web: 'ami-0standin' }, twins });
const profiles = { aws: awsProfile, emulator } as const;
type ProfileName = keyof typeof profiles;

function contextOn(target: TargetProfile): Context {
  return createContext({
    cwd: '/tmp',
    env: { PATH: '/usr/bin' },
    logger: createMemoryLogger(),
    settings: pipelineSettingsSchema.parse({}),
    clients,
    target,
    runId: 'run1',
    now: () => new Date('2026-11-29T12:00:00.000Z'),
  });
}

/** An account where nothing uses any AMI, and the AMI `ami-1` is gild's `web`. */
function quietAccount() {
  const ec2Mock = mockClient(ec2);
  const ssmMock = mockClient(ssm);
  const autoscalingMock = mockClient(autoscaling);
  ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-1', State: 'available', Tags: [{ Key: 'gild:image', Value: 'web' }] }] });
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2Mock.on(DescribeLaunchTemplatesCommand).resolves({ LaunchTemplates: [] });
  ec2Mock.on(DescribeFleetsCommand).resolves({ Fleets: [] });
  ec2Mock.on(DescribeSpotFleetRequestsCommand).resolves({ SpotFleetRequestConfigs: [] });
  ec2Mock.on(DescribeImageReferencesCommand).resolves({ ImageReferences: [] });
  ec2Mock.on(EnableImageDeprecationCommand).resolves({ Return: true });
  ec2Mock.on(DisableImageCommand).resolves({ Return: true });
  ec2Mock.on(CreateTagsCommand).resolves({});
  autoscalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
  autoscalingMock.on(DescribeLaunchConfigurationsCommand).resolves({ LaunchConfigurations: [] });
  ssmMock.on(DescribeParametersCommand).resolves({ Parameters: [] });
  ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
  ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound', $metadata: { httpStatusCode: 400 } }));
  ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
  return { ec2Mock, ssmMock };
}

const retireStep = (phase: 'deprecate' | 'disable'): StepOfKind<'retire'> => ({
  id: `retire:web:1.0.0:us-east-1:${phase}`,
  kind: 'retire',
  image: 'web',
  version: '1.0.0',
  region: 'us-east-1',
  amiId: 'ami-1',
  phase,
  snapshotIds: [],
  parameterName: undefined,
  after: [],
  reason: 'superseded',
  precondition: 'none',
});
const revokeStep: StepOfKind<'revoke'> = {
  id: 'revoke:web:1.0.0:us-east-1:deprecate',
  kind: 'revoke',
  image: 'web',
  version: '1.0.0',
  region: 'us-east-1',
  amiId: 'ami-1',
  revokedReason: 'CVE',
  disable: true,
  phase: 'deprecate',
  after: [],
  reason: 'revoked',
  precondition: 'none',
};
const snapshotCleanupStep = {
  id: 'cleanup:web:us-east-1:snapshots',
  kind: 'cleanup',
  image: 'web',
  region: 'us-east-1',
  amiId: undefined,
  snapshotIds: ['snap-1', 'snap-2'],
  status: '(snapshots only)',
  after: [],
  reason: 'leftover',
  precondition: 'no AMI uses them',
} as const;

/** Copies `ami-source` into account 210987654321 the way the profile says, against stubbed EC2 clients for both accounts. */
async function copyIntoAccount(target: TargetProfile) {
  const sourceMock = mockClient(sourceEc2);
  sourceMock.on(DescribeImagesCommand).resolves({
    Images: [{ ImageId: 'ami-source', Name: 'web-1.0.0-run1', State: 'available', OwnerId: '123456789012', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-source' } }] }],
  });
  sourceMock.on(ModifyImageAttributeCommand).resolves({});
  sourceMock.on(ModifySnapshotAttributeCommand).resolves({});
  let made = false;
  const accountMock = mockClient(accountEc2);
  accountMock
    .on(DescribeImagesCommand)
    .callsFake(async () => ({ Images: made ? [{ ImageId: 'ami-copy', Name: 'web-1.0.0-run1', State: 'available', CreationDate: '2026-11-29T12:00:00.000Z' }] : [] }));
  accountMock.on(CreateTagsCommand).resolves({});
  const copyMock = mockClient(accountSingleAttemptEc2);
  copyMock.on(CopyImageCommand).callsFake(async () => ((made = true), { ImageId: 'ami-copy' }));
  copyMock.on(RegisterImageCommand).callsFake(async () => ((made = true), { ImageId: 'ami-copy' }));
  const copy = await copyImageIntoAccount({
    source: { ec2: sourceEc2, region: 'us-east-1', amiId: 'ami-source' },
    target: { account: '210987654321', ec2: accountEc2, singleAttemptEc2: accountSingleAttemptEc2 },
    kmsKeyId: undefined,
    tags: { 'gild:image': 'web', 'gild:source-ami': 'ami-source' },
    keepSharing: false,
    method: target.accountCopy.method,
    signal: new AbortController().signal,
    pollMs: 1,
  });
  return { copy, calls: { copyImage: copyMock.commandCalls(CopyImageCommand).length, registerImage: copyMock.commandCalls(RegisterImageCommand).length } };
}

async function renderSource(target: TargetProfile) {
  const image = resolvedImageFixture({ provision: [{ kind: 'shell', inline: ['true'], env: {}, expectDisconnect: false, pauseBefore: undefined }] });
  const temporaryProfile = { ...image, buildInfrastructure: { ...image.buildInfrastructure, temporaryInstanceProfile: true } };
  const logger = createMemoryLogger();
  const rendered = await renderImageFiles(temporaryProfile, { ...renderInputFixture('/tmp/gild-target-profile'), target: target.packer, logger });
  const parsed = (await parse('image.pkr.hcl', rendered.files[0]!.content)) as { source: { 'amazon-ebs': { web: Record<string, unknown>[] } }; build: Record<string, unknown>[] };
  return { source: parsed.source['amazon-ebs'].web[0]!, build: parsed.build[0]!, logged: logger.lines };
}

const questions: { readonly [Question in keyof TargetProfile]: (name: ProfileName, profile: TargetProfile) => Promise<void> } = {
  async name(name, profile) {
    expect(profile.name).toBe(name);
  },

  async announcement(name, profile) {
    expect(profile.announcement).toBe(
      {
        aws: 'target: AWS',
        emulator: 'target: the emulator at http://127.0.0.1:5000 (--local started it for this run): communicator "none", provisioners only in container twins, stand-ins for what it lacks',
      }[name],
    );
  },

  async references(name, profile) {
    const { ec2Mock, ssmMock } = quietAccount();
    expect(await whyNotRemovable(contextOn(profile), 'us-east-1', 'web', 'ami-1')).toBe(false);
    const describeParameters = ssmMock.commandCalls(DescribeParametersCommand).map((call) => call.args[0].input.ParameterFilters);
    if (name === 'aws') {
      expect(ec2Mock.commandCalls(DescribeImageReferencesCommand).map((call) => call.args[0].input)).toEqual([expect.objectContaining({ ImageIds: ['ami-1'], IncludeAllResourceTypes: true })]);
      expect(describeParameters).toEqual([[{ Key: 'DataType', Option: 'Equals', Values: ['aws:ec2:image'] }]]);
    } else {
      expect(ec2Mock.commandCalls(DescribeImageReferencesCommand)).toHaveLength(0);
      expect(describeParameters).toEqual([undefined]);
    }
  },

  async snapshotImageFilter(name, profile) {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: 'ami-0user', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-2' } }] }] });
    expect(await cleanupStage.check!(contextOn(profile), snapshotCleanupStep, stepRunFixture(undefined))).toBe('snap-2 in us-east-1 is still used by ami-0user');
    const filters = ec2Mock.commandCalls(DescribeImagesCommand).map((call) => call.args[0].input.Filters);
    expect(filters).toEqual(name === 'aws' ? [[{ Name: 'block-device-mapping.snapshot-id', Values: ['snap-1', 'snap-2'] }]] : [undefined]);
  },

  async imageDeprecation(name, profile) {
    const { ec2Mock } = quietAccount();
    const context = contextOn(profile);
    const runs = [stepRunFixture(resolvedImageFixture()), stepRunFixture(resolvedImageFixture()), stepRunFixture(resolvedImageFixture())];
    await retireStage.run(context, retireStep('deprecate'), runs[0]!);
    await retireStage.run(context, retireStep('disable'), runs[1]!);
    await revokeStage.run(context, revokeStep, runs[2]!);
    const tagged = ec2Mock.commandCalls(CreateTagsCommand).map((call) => Object.keys(call.args[0].input.Tags?.reduce((all, tag) => ({ ...all, [tag.Key!]: tag.Value }), {}) ?? {}));
    // Tagged either way: the next plan reads the tags to know the phase is done.
    expect(tagged).toEqual([['gild:deprecated-at'], ['gild:disabled-at'], ['gild:deprecated-at', 'gild:disabled-at']]);
    const warnings = runs.flatMap((run) => run.logger.lines.filter((line) => line.startsWith('warn:')));
    if (name === 'aws') {
      expect(ec2Mock.commandCalls(EnableImageDeprecationCommand).map((call) => call.args[0].input)).toEqual([
        { ImageId: 'ami-1', DeprecateAt: expect.any(Date) },
        { ImageId: 'ami-1', DeprecateAt: expect.any(Date) },
      ]);
      expect(ec2Mock.commandCalls(DisableImageCommand).map((call) => call.args[0].input)).toEqual([{ ImageId: 'ami-1' }, { ImageId: 'ami-1' }]);
      expect(warnings).toEqual([]);
    } else {
      expect(ec2Mock.commandCalls(EnableImageDeprecationCommand)).toHaveLength(0);
      expect(ec2Mock.commandCalls(DisableImageCommand)).toHaveLength(0);
      expect(warnings).toEqual([
        'warn: the emulator has no EnableImageDeprecation: ami-1 is only tagged deprecated',
        'warn: the emulator has no DisableImage: ami-1 is only tagged disabled',
        'warn: the emulator has no EnableImageDeprecation or DisableImage: ami-1 in us-east-1 is only tagged revoked',
      ]);
    }
  },

  async deregistrationProtection(name, profile) {
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: 'ami-1',
          State: 'available',
          Tags: [
            { Key: 'gild:image', Value: 'web' },
            { Key: 'gild:version', Value: '1.0.1' },
          ],
        },
      ],
    });
    ec2Mock.on(EnableImageDeregistrationProtectionCommand).resolves({ Return: 'true' });
    ec2Mock.on(CreateTagsCommand).resolves({});
    const step: StepOfKind<'protect'> = {
      id: 'protect:web:1.0.1:us-east-1',
      kind: 'protect',
      image: 'web',
      version: '1.0.1',
      region: 'us-east-1',
      amis: { from: 'publish:web' },
      after: ['publish:web'],
      reason: 'r',
      precondition: 'p',
    };
    const run = stepRunFixture(resolvedImageFixture(), { outputs: { 'publish:web': { kind: 'publish', output: { version: '1.0.1', amis: { 'us-east-1': 'ami-1' } } } } });
    expect(await protectStage.run(contextOn(profile), step, run)).toEqual({ amiId: 'ami-1', protected: name === 'aws' });
    expect(ec2Mock.commandCalls(EnableImageDeregistrationProtectionCommand)).toHaveLength(name === 'aws' ? 1 : 0);
  },

  async recycleBin(name, profile) {
    // Asked only by a restore whose AMI is gone (src/commands/change-pointer.ts); moto has no Recycle Bin.
    expect(profile.recycleBin).toBe(name === 'aws');
  },

  async accountCopy(name, profile) {
    const { copy, calls } = await copyIntoAccount(profile);
    expect(copy).toEqual({ amiId: 'ami-copy', snapshotIds: [], outcome: 'copied' });
    if (name === 'aws') {
      expect(calls).toEqual({ copyImage: 1, registerImage: 0 });
      expect(profile.accountCopy.note).toBeUndefined();
      expect(profile.accountCopy.pollMs).toBeUndefined();
    } else {
      expect(calls).toEqual({ copyImage: 0, registerImage: 1 });
      expect(profile.accountCopy.note?.('210987654321')).toMatch(/^emulator: moto cannot CopyImage .* the copy into 210987654321 is stood in for by RegisterImage there/);
      expect(profile.accountCopy.pollMs).toBe(200);
    }
  },

  async packer(name, profile) {
    const { source, build, logged } = await renderSource(profile);
    if (name === 'aws') {
      expect(source).not.toHaveProperty('custom_endpoint_ec2');
      expect(source).toMatchObject({ communicator: 'ssh', ssh_username: 'ec2-user' });
      expect(source).toHaveProperty('temporary_iam_instance_profile_policy_document');
      expect(build).toHaveProperty('provisioner');
      expect(logged.filter((line) => line.startsWith('info:'))).toEqual([]);
    } else {
      expect(source).toMatchObject({ custom_endpoint_ec2: 'http://127.0.0.1:5000', skip_region_validation: true, communicator: 'none' });
      // Packer's IAM calls would not follow the endpoint: a temporary profile would be made in whatever account the keys reach.
      expect(source).not.toHaveProperty('temporary_iam_instance_profile_policy_document');
      expect(build).not.toHaveProperty('provisioner');
      expect(logged).toContain('info: Left out the 1 provisioner of image "web": the emulator\'s instances have no OS to run them on, and the image has no container twin.');
    }
  },

  async buildSource(name, profile) {
    const forBase = profile.buildSource('web', 'ami-0base');
    const forOther = profile.buildSource('app', 'ami-0base');
    expect(forOther).toEqual({ amiId: 'ami-0base' });
    if (name === 'aws') expect(forBase).toEqual({ amiId: 'ami-0base' });
    else expect(forBase).toEqual({ amiId: 'ami-0standin', note: 'emulator: Packer cannot build from moto-made ami-0base; using stand-in ami-0standin as the source (tags still record ami-0base)' });
  },

  async twins(name, profile) {
    const build = twinBuildOf(contextOn(profile), resolvedImageFixture({ preset: 'debian-12' }), '1.0.0');
    if (name === 'aws') {
      expect(profile.twins).toBeUndefined();
      expect(build).toEqual({ twin: undefined, reference: undefined, packerEnv: { PATH: '/usr/bin' } });
    } else {
      expect(build.reference).toBe('localhost/gild-twin/web:1.0.0-run1');
      expect(build.twin?.sourceBody).toContainEqual(expect.objectContaining({ name: 'image', value: 'debian:12' }));
      expect(build.packerEnv.PATH).toBe(`/tmp/gild-docker-shim:/usr/bin`);
    }
  },

  async commandExecution(name, profile) {
    const execution = commandExecutionOf(contextOn(profile));
    expect(execution).toBe(profile.commandExecution);
    const notRun = { status: 'Failed', statusDetails: standInNotRunDetails, stderr: 'not run: the image has no container twin' };
    const failed = { status: 'Failed', statusDetails: 'Failed', stderr: 'exit 1' };
    expect(execution.skipReason({})).toBeUndefined();
    expect(execution.notRunReason(failed)).toBeUndefined();
    if (name === 'aws') {
      expect(execution.skipReason({ needs: 'vm' })).toBeUndefined();
      expect(execution.notRunReason(notRun)).toBeUndefined();
    } else {
      expect(execution.skipReason({ needs: 'vm' })).toMatch(/^skipped: needs a VM/);
      expect(execution.notRunReason(notRun)).toBe('the image has no container twin');
    }
  },

  async windowsPassword(name, profile) {
    // AWS answers the password EC2Launch encrypted with the launch key pair; the emulator answers random characters.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
    const ec2Mock = mockClient(ec2);
    ec2Mock.on(GetPasswordDataCommand).resolves({
      InstanceId: 'i-1',
      PasswordData: name === 'aws' ? publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from('N3w-pass')).toString('base64') : 'x'.repeat(128),
    });
    const image = { ...smokeImage(), platform: 'windows' as const };
    const check = await checkWindowsPassword(
      {
        context: contextOn(profile),
        run: smokeRun(image, { logDir: '/tmp', amis: { 'us-east-1': 'ami-1' } }),
        ssm,
        instance: { instanceType: 'm6i.large', instanceId: 'i-1', undoDefer: () => undefined },
        deadline: new AbortController().signal,
        settings: { poll: { pollMs: 1, registration: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } }, instancePollMs: 1, outputLimitBytes: 1024 },
      },
      { name: 'gild_run1-smoke_web', privateKeyPem: privateKey },
    );
    expect(ec2Mock.commandCalls(GetPasswordDataCommand).map((call) => call.args[0].input)).toEqual([{ InstanceId: 'i-1' }]);
    if (name === 'aws') expect(profile.windowsPassword).toEqual({ encrypted: true });
    expect([check.outcome, check.reason]).toEqual(
      name === 'aws'
        ? ['passed', 'EC2Launch set a password at first boot, and it decrypts with the key pair gild launched the instance with']
        : ['not-verified', expect.stringMatching(/^GetPasswordData answered a PasswordData, which proves nothing here: the emulator's GetPasswordData answers 128 random characters/)],
    );
  },

  async accountChecks(name, profile) {
    if (name === 'aws') expect(profile.accountChecks).toEqual({ policySimulation: true, imageBlockPublicAccess: true, recycleBin: true });
    else
      expect(profile.accountChecks).toEqual({
        policySimulation: expect.stringMatching(/^the emulator cannot answer iam:SimulatePrincipalPolicy/),
        imageBlockPublicAccess: expect.stringMatching(/^the emulator cannot answer ec2:GetImageBlockPublicAccessState/),
        recycleBin: expect.stringMatching(/^the emulator has no Recycle Bin/),
      });
  },
};

describe.each(Object.keys(profiles) as ProfileName[])('the %s profile answers', (name) => {
  for (const [question, check] of Object.entries(questions)) {
    it(question, () => check(name, profiles[name]));
  }
});

describe('a context made without a profile', () => {
  it('targets AWS: only the entry point that chose the emulator gives its profile', () => {
    expect(createContext({ cwd: '/tmp', env: {}, logger: createMemoryLogger(), settings: pipelineSettingsSchema.parse({}), clients }).target).toBe(awsProfile);
  });
});

describe('the engine', () => {
  it('never names the emulator in code: stages, planners, rendering and the runner ask the profile (comments may name it)', async () => {
    const srcDir = new URL('../../src', import.meta.url).pathname;
    const naming: string[] = [];
    for (const folder of ['stages', 'plan', 'render', 'apply']) {
      for (const name of (await readdir(path.join(srcDir, folder), { recursive: true })).filter((file) => file.endsWith('.ts'))) {
        const code = (await readFile(path.join(srcDir, folder, name), 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
        for (const [index, line] of code.split('\n').entries()) if (/emulat/i.test(line)) naming.push(`src/${folder}/${name}: ${line.trim()} (line ${index + 1} without comments)`);
      }
    }
    expect(naming).toEqual([]);
  });
});
