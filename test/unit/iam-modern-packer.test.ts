/**
 * The shipped policy against modern Packer's amazon plugin (builder/ebs in
 * github.com/hashicorp/packer-plugin-amazon), whose call sequence differs
 * from Packer 1.6.6's (recorded for real in
 * test/integration/iam-simulation.test.ts; docs/iam.md "IAM: what is proven
 * offline" has the table). The sequence is written from the plugin's steps
 * for what gild renders (run_tags, run_volume_tags, tags, no snapshot_tags,
 * temporary_key_pair_name, ami_regions, deprecate_at, imds_support), with
 * each resource's tags tracked as the calls change them, and evaluated like
 * the recorded requests: Service Authorization Reference resources →
 * @cloud-copilot/iam-simulate.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { authorizationsOf } from '../support/iam-authorizations.ts';
import type { RecordedRequest } from '../support/iam-recorder.ts';
import { describeDenial, evaluate, type Verdict } from '../support/iam-simulation.ts';
import { repoRoot } from '../support/project.ts';

const account = '123456789012';
const runTags = { 'gild:role': 'build', 'gild:run-id': 'run-1' };
const amiTags = { owner: 'web-team', app: 'web', environment: 'test', 'gild:image': 'web', 'gild:version': '1.0.0', 'gild:run-id': 'run-1', 'gild:status': 'built' };

/** Requests as the plugin sends them, with each named resource's tags as they are when it is sent. */
class Sequence {
  readonly requests: RecordedRequest[] = [];
  private readonly tags = new Map<string, Record<string, string>>();

  send(action: string, query: Record<string, string>, effects: { region?: string; answer?: string; creates?: Record<string, Record<string, string>> } = {}): void {
    const named = Object.entries(query)
      .filter(([key]) => /^(ResourceId\.\d+|ImageId|InstanceId(\.\d+)?|SnapshotId|VolumeId|GroupId|SecurityGroupId\.\d+|SubnetId|SourceImageId)$/.test(key))
      .map(([, id]) => id);
    const tagsBefore = Object.fromEntries(named.map((id) => [id, { ...this.tags.get(id) }]));
    this.requests.push({
      seq: this.requests.length,
      sender: 'packer',
      service: 'ec2',
      action,
      region: effects.region ?? 'us-east-1',
      accessKeyId: 'test',
      query: { Action: action, ...query },
      json: {},
      tagsBefore,
      status: 200,
      answer: effects.answer ?? '',
    });
    for (const [id, tags] of Object.entries(effects.creates ?? {})) this.tags.set(id, { ...tags });
    if (action === 'CreateTags') {
      const added = Object.fromEntries(
        Object.entries(query)
          .filter(([key]) => /^Tag\.\d+\.Key$/.test(key))
          .map(([key, value]) => [value, query[key.replace(/Key$/, 'Value')] ?? '']),
      );
      for (const [key, id] of Object.entries(query)) if (/^ResourceId\.\d+$/.test(key)) this.tags.set(id, { ...this.tags.get(id), ...added });
    }
  }

  tagsOf(id: string): Record<string, string> {
    return { ...this.tags.get(id) };
  }
}

const tagQuery = (prefix: string, tags: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(tags).flatMap(([key, value], index) => [
      [`${prefix}.${index + 1}.Key`, key],
      [`${prefix}.${index + 1}.Value`, value],
    ]),
  );
const tagSpecifications = (specs: Array<[string, Record<string, string>]>) =>
  Object.fromEntries(specs.flatMap(([type, tags], index) => [[`TagSpecification.${index + 1}.ResourceType`, type], ...Object.entries(tagQuery(`TagSpecification.${index + 1}.Tag`, tags))]));

/** builder/ebs's steps, in order, for a gild render with one copy region. */
function modernPluginSequence(): Sequence {
  const calls = new Sequence();
  // StepPreValidate, StepSourceAMIInfo, StepNetworkInfo (no subnet given: the default VPC's; DescribeInstanceTypeOfferings only with associate_public_ip_address)
  calls.send('DescribeImages', { 'Filter.1.Name': 'name', 'Filter.1.Value.1': 'web-1.0.0-20261207T000000Z' });
  calls.send('DescribeImages', { 'ImageId.1': 'ami-0base' });
  calls.send('DescribeVpcs', {});
  // StepKeyPair: the named temporary key pair, tagged with run_tags at creation
  calls.send('CreateKeyPair', { KeyName: 'gild_run-1_web', KeyType: 'rsa', ...tagSpecifications([['key-pair', runTags]]) });
  // StepSecurityGroup: tagged with run_tags at creation (1.6.6 could not tag it)
  calls.send(
    'CreateSecurityGroup',
    { GroupName: 'packer_6734', GroupDescription: 'Temporary group for Packer', ...tagSpecifications([['security-group', runTags]]) },
    { answer: '<groupId>sg-0packer</groupId>', creates: { 'sg-0packer': runTags } },
  );
  calls.send('DescribeSecurityGroups', { 'GroupId.1': 'sg-0packer' });
  calls.send('AuthorizeSecurityGroupIngress', { GroupId: 'sg-0packer', 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': '22', 'IpPermissions.1.ToPort': '22' });
  // StepRunSourceInstance: instance, network interface and volumes tagged at creation
  calls.send(
    'RunInstances',
    {
      ImageId: 'ami-0base',
      InstanceType: 't3.micro',
      MinCount: '1',
      MaxCount: '1',
      KeyName: 'gild_run-1_web',
      'SecurityGroupId.1': 'sg-0packer',
      ...tagSpecifications([
        ['instance', runTags],
        ['network-interface', runTags],
        ['volume', runTags],
      ]),
    },
    {
      answer: '<instanceId>i-0build</instanceId><networkInterfaceId>eni-0build</networkInterfaceId><subnetId>subnet-0default</subnetId>',
      creates: { 'i-0build': runTags, 'eni-0build': runTags, 'vol-0build': runTags },
    },
  );
  calls.send('DescribeInstances', { 'InstanceId.1': 'i-0build' });
  // StepStopEBSBackedInstance, StepDeregisterAMI (no force_deregister: a lookup only)
  calls.send('StopInstances', { 'InstanceId.1': 'i-0build' });
  calls.send('DescribeImages', { 'Owner.1': 'self', 'Filter.1.Name': 'name', 'Filter.1.Value.1': 'web-1.0.0-20261207T000000Z' });
  // stepCreateAMI: the AMI and its snapshots tagged with run_tags at creation (unless skip_ami_run_tags)
  calls.send(
    'CreateImage',
    {
      InstanceId: 'i-0build',
      Name: 'web-1.0.0-20261207T000000Z',
      ...tagSpecifications([
        ['image', runTags],
        ['snapshot', runTags],
      ]),
    },
    { answer: '<imageId>ami-0new</imageId>', creates: { 'ami-0new': runTags, 'snap-0new': runTags } },
  );
  calls.send('DescribeImages', { 'ImageId.1': 'ami-0new' });
  // StepAMIRegionCopy: CopyImageTags copies the source AMI's tags (the run_tags, so far) onto the copy
  calls.send(
    'CopyImage',
    { SourceRegion: 'us-east-1', SourceImageId: 'ami-0new', Name: 'web-1.0.0-20261207T000000Z', CopyImageTags: 'true' },
    { region: 'us-west-2', answer: '<imageId>ami-0copy</imageId>', creates: { 'ami-0copy': calls.tagsOf('ami-0new'), 'snap-0copy': {} } },
  );
  // StepEnableDeprecation (deprecate_at) and StepModifyAMIAttributes (imds_support) run before StepCreateTags
  for (const [region, ami] of [
    ['us-east-1', 'ami-0new'],
    ['us-west-2', 'ami-0copy'],
  ] as const) {
    calls.send('EnableImageDeprecation', { ImageId: ami, DeprecateAt: '2027-12-07T00:00:00Z' }, { region });
    calls.send('ModifyImageAttribute', { ImageId: ami, 'ImdsSupport.Value': 'v2.0' }, { region });
  }
  // StepCreateTags: the AMI and its snapshots with tags in one call (no snapshot_tags: no second call)
  for (const [region, ami, snapshot] of [
    ['us-east-1', 'ami-0new', 'snap-0new'],
    ['us-west-2', 'ami-0copy', 'snap-0copy'],
  ] as const) {
    calls.send('DescribeImages', { 'ImageId.1': ami }, { region });
    calls.send('CreateTags', { 'ResourceId.1': ami, 'ResourceId.2': snapshot, ...tagQuery('Tag', amiTags) }, { region });
  }
  // Cleanup of StepRunSourceInstance, StepSecurityGroup, StepKeyPair
  calls.send('TerminateInstances', { 'InstanceId.1': 'i-0build' });
  calls.send('DeleteSecurityGroup', { GroupId: 'sg-0packer' });
  calls.send('DeleteKeyPair', { KeyName: 'gild_run-1_web' });
  return calls;
}

async function simulate(policy: PolicyDocument, requests: readonly RecordedRequest[]): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (const request of requests) {
    for (const authorization of authorizationsOf(request, { accountOf: () => account })) verdicts.push(await evaluate(policy, authorization, `arn:aws:iam::${account}:role/gild-pipeline`));
  }
  return verdicts;
}

describe("modern Packer's amazon plugin under the shipped policy", () => {
  let policy: PolicyDocument;
  beforeAll(async () => {
    policy = JSON.parse(await readFile(path.join(repoRoot, 'pipeline/iam-policy.json'), 'utf8')) as PolicyDocument;
  });

  it('allows every call of a build with a copy region, deprecation and IMDSv2, tags tracked as they change', async () => {
    const calls = modernPluginSequence();
    const verdicts = await simulate(policy, calls.requests);
    console.info(
      `modern amazon plugin sequence: ${calls.requests.length} requests, ${verdicts.length} resource authorizations evaluated, ${verdicts.filter((verdict) => verdict.result !== 'Allowed').length} denied`,
    );
    expect(verdicts.filter((verdict) => verdict.result !== 'Allowed').map(describeDenial)).toEqual([]);
    // The side checks the sequence relies on were evaluated, not skipped.
    expect(
      verdicts
        .filter((verdict) => verdict.authorization.context['ec2:CreateAction'])
        .map((verdict) => `${String(verdict.authorization.context['ec2:CreateAction'])} ${verdict.authorization.resource.split(':').pop()!.split('/')[0]}`),
    ).toEqual(
      expect.arrayContaining([
        'CreateKeyPair key-pair',
        'CreateSecurityGroup security-group',
        'RunInstances instance',
        'RunInstances network-interface',
        'RunInstances volume',
        'CreateImage image',
        'CreateImage snapshot',
        'CopyImage image',
      ]),
    );
  });

  it('is refused on AWS if snapshot_tags repeat gild:image: the plugin tags the snapshots a second time', async () => {
    const calls = modernPluginSequence();
    calls.send('CreateTags', { 'ResourceId.1': 'snap-0new', ...tagQuery('Tag', amiTags) });
    const denied = (await simulate(policy, calls.requests)).filter((verdict) => verdict.result !== 'Allowed');
    expect(denied.map((verdict) => [verdict.authorization.resource, verdict.result, verdict.statements])).toEqual([
      ['arn:aws:ec2:us-east-1::snapshot/snap-0new', 'ExplicitlyDenied', ['NeverMoveOwnership']],
    ]);
  });
});
