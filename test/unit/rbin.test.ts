/**
 * Recycle Bin retention rules, which moto does not implement (EMULATOR.md: no `rbin`): each request is built,
 * serialized and signed by gild's own client through the real adapter, taken off the wire right before sending
 * (aws-model-capture.ts), held to botocore's rbin model (REST-JSON: the operation found by method and path), and
 * answered with a canned response in the service's format.
 */
import { describe, expect, it } from 'vitest';
import type { AwsClients } from '../../src/adapters/aws-clients.ts';
import { createRbinClient, listRetentionRules, type RbinClient } from '../../src/adapters/rbin.ts';
import { checkRecycleBin } from '../../src/doctor/check-recycle-bin.ts';
import { passed } from '../../src/doctor/doctor-check.ts';
import type { DoctorInput } from '../../src/doctor/doctor-input.ts';
import { formatDoctorReport } from '../../src/doctor/format-doctor-report.ts';
import { mockClient } from 'aws-sdk-client-mock';
import { observeInventory } from '../../src/observe/observe-inventory.ts';
import { observeRecycleBin } from '../../src/observe/observe-recycle-bin.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import type { TargetProfile } from '../../src/target/target-profile.ts';
import { contextOver, mockableClients } from '../support/mocked-aws-context.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { captureAtTheWire } from '../support/aws-model-capture.ts';
import { checkWireRequest } from '../support/aws-model-check.ts';

const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
const json = (value: unknown) => ({ body: JSON.stringify(value) });

describe('Recycle Bin retention rules, read by gild and held to AWS rules', () => {
  it('lists every page of the EC2_IMAGE rules, then reads each rule for its tags and status', async () => {
    const rbin = createRbinClient('eu-west-1', env);
    const rules: Record<string, unknown> = {
      a12bCdEfGh3: { Identifier: 'a12bCdEfGh3', ResourceType: 'EC2_IMAGE', RetentionPeriod: { RetentionPeriodValue: 14, RetentionPeriodUnit: 'DAYS' }, Status: 'available', LockState: 'locked' },
      b98zYxWvUt7: {
        Identifier: 'b98zYxWvUt7',
        Description: 'golden images',
        ResourceType: 'EC2_IMAGE',
        RetentionPeriod: { RetentionPeriodValue: 30, RetentionPeriodUnit: 'DAYS' },
        ResourceTags: [{ ResourceTagKey: 'gild:image' }, { ResourceTagKey: 'team', ResourceTagValue: 'platform' }],
        Status: 'pending',
      },
    };
    // GetRule names its rule in the path only: the answers follow the order the adapter asks in.
    const ruleAnswers = ['a12bCdEfGh3', 'b98zYxWvUt7'].map((identifier) => json(rules[identifier]));
    const wire = captureAtTheWire(rbin, (request) => {
      if (request.action === 'GetRule') return ruleAnswers.shift();
      return (request.params as Record<string, unknown>).NextToken ? json({ Rules: [{ Identifier: 'b98zYxWvUt7' }] }) : json({ Rules: [{ Identifier: 'a12bCdEfGh3' }], NextToken: 'cGFnZS0y' });
    });
    const found = await listRetentionRules(rbin, 'EC2_IMAGE');
    expect(wire.violations()).toEqual([]);
    expect(
      wire.captured.map((request) => [request.check.service, request.action, (request.params as Record<string, unknown>).ResourceType, (request.params as Record<string, unknown>).NextToken]),
    ).toEqual([
      ['rbin', 'ListRules', 'EC2_IMAGE', undefined],
      ['rbin', 'ListRules', 'EC2_IMAGE', 'cGFnZS0y'],
      ['rbin', 'GetRule', undefined, undefined],
      ['rbin', 'GetRule', undefined, undefined],
    ]);
    expect((wire.captured[0]!.params as Record<string, unknown>).MaxResults).toBe(100);
    expect(found).toEqual([
      { id: 'a12bCdEfGh3', description: undefined, resourceType: 'EC2_IMAGE', retentionDays: 14, resourceTags: [], available: true, lockState: 'locked' },
      {
        id: 'b98zYxWvUt7',
        description: 'golden images',
        resourceType: 'EC2_IMAGE',
        retentionDays: 30,
        resourceTags: [
          { key: 'gild:image', value: undefined },
          { key: 'team', value: 'platform' },
        ],
        available: false,
        lockState: undefined,
      },
    ]);
    rbin.destroy();
  });

  it('the checker reads REST-JSON: the path label is the member, and a request AWS would refuse is a violation', () => {
    const signed = { authorization: 'AWS4-HMAC-SHA256 Credential=test/20261207/eu-west-1/rbin/aws4_request, SignedHeaders=host, Signature=0' };
    const getRule = checkWireRequest({ method: 'GET', url: '/rules/a12bCdEfGh3', headers: signed, body: '' });
    expect([getRule.service, getRule.operation, getRule.violations]).toEqual(['rbin', 'GetRule', []]);
    const badList = checkWireRequest({
      method: 'POST',
      url: '/list-rules',
      headers: { ...signed, 'content-type': 'application/json' },
      body: JSON.stringify({ ResourceType: 'AMI', MaxResults: 5000 }),
    });
    expect(badList.violations.map((violation) => [violation.operation, violation.member])).toEqual([
      ['ListRules', 'MaxResults'],
      ['ListRules', 'ResourceType'],
    ]);
    const missing = checkWireRequest({ method: 'POST', url: '/list-rules', headers: { ...signed, 'content-type': 'application/json' }, body: '{}' });
    expect(missing.violations.map((violation) => violation.member)).toEqual(['ResourceType']);
    const nowhere = checkWireRequest({ method: 'DELETE', url: '/nothing-here', headers: signed, body: '' });
    expect(nowhere.violations.map((violation) => violation.member)).toEqual(['(operation)']);
  });
});

describe('gild doctor: does the Recycle Bin keep retired AMIs', () => {
  const image = resolvedImageFixture({ name: 'web' });
  const input = (rbin: RbinClient, capabilities: DoctorInput['capabilities'] = { policySimulation: true, imageBlockPublicAccess: true, recycleBin: true }): DoctorInput => {
    const unused = () => {
      throw new Error('not used here');
    };
    return {
      settings: pipelineSettingsSchema.parse({}),
      images: [image],
      regions: ['us-east-1'],
      homeRegion: 'us-east-1',
      runId: 'run',
      env: {},
      capabilities,
      ec2: unused,
      ssm: unused,
      kms: unused,
      rbin: () => rbin,
      iam: unused as never,
    };
  };
  /** A region whose rules are `rules` (by resource type), each answered by GetRule in the order they are listed. */
  const account = (rules: Record<'EC2_IMAGE' | 'EBS_SNAPSHOT', Record<string, unknown>[]>) => {
    const rbin = createRbinClient('us-east-1', env);
    const pending: Record<string, unknown>[] = [];
    const wire = captureAtTheWire(rbin, (request) => {
      if (request.action === 'GetRule') return json(pending.shift());
      const listed = rules[(request.params as { ResourceType: 'EC2_IMAGE' | 'EBS_SNAPSHOT' }).ResourceType];
      pending.push(...listed);
      return json({ Rules: listed.map((rule) => ({ Identifier: rule.Identifier })) });
    });
    return { rbin, wire };
  };
  const days = (value: number) => ({ RetentionPeriodValue: value, RetentionPeriodUnit: 'DAYS' });

  it('passes where rules keep both the AMIs and their snapshots, saying for how long', async () => {
    const { rbin, wire } = account({
      EC2_IMAGE: [{ Identifier: 'a12bCdEfGh3', RetentionPeriod: days(30), ResourceTags: [{ ResourceTagKey: 'gild:image' }], Status: 'available' }],
      EBS_SNAPSHOT: [{ Identifier: 'c12bCdEfGh3', RetentionPeriod: days(14), Status: 'available' }],
    });
    const lines = await checkRecycleBin(input(rbin));
    expect(wire.violations()).toEqual([]);
    expect(lines).toEqual([
      passed(
        'Recycle Bin keeps retired AMIs',
        'us-east-1',
        'kept at least 14 days (the AMI 30 days by rule a12bCdEfGh3 (tag-level: gild:image); its snapshots 14 days by rule c12bCdEfGh3 (region-level; its exclusion tags are not read)): `gild restore` can bring it back until then',
      ),
    ]);
  });

  it('advises (never fails) where no rule keeps the snapshots, or a rule is still pending, with the commands that create them', async () => {
    const { rbin } = account({
      EC2_IMAGE: [{ Identifier: 'a12bCdEfGh3', RetentionPeriod: days(30), Status: 'available' }],
      EBS_SNAPSHOT: [{ Identifier: 'c12bCdEfGh3', RetentionPeriod: days(14), Status: 'pending' }],
    });
    const [line] = await checkRecycleBin(input(rbin));
    expect(line).toMatchObject({
      status: 'advice',
      detail: expect.stringContaining('web: the Recycle Bin keeps the AMI 30 days by rule a12bCdEfGh3'),
      fix: expect.stringContaining('aws rbin create-rule --region us-east-1'),
    });
    const report = formatDoctorReport([passed('caller identity', 'me', 'account 1'), line!], 'AWS');
    expect(report).toMatch(/^advice +Recycle Bin keeps retired AMIs +us-east-1 +web: /m);
    expect(report).toContain('Ready, 1 with advice (see above).');
  });

  it('on a target without a Recycle Bin says it was not checked, and asks nothing', async () => {
    const rbin = createRbinClient('us-east-1', env);
    const wire = captureAtTheWire(rbin);
    const lines = await checkRecycleBin(input(rbin, { policySimulation: true, imageBlockPublicAccess: true, recycleBin: 'the emulator has no Recycle Bin' }));
    expect(lines).toEqual([expect.objectContaining({ status: 'not-checked', detail: 'the emulator has no Recycle Bin' })]);
    expect(wire.captured).toEqual([]);
  });
});

describe('the inventory reads the retention rules only where the target has a Recycle Bin', () => {
  it('asks nothing on the emulator, and says a refusal instead of throwing', async () => {
    const rbin = createRbinClient('us-east-1', env);
    const wire = captureAtTheWire(rbin, () => ({
      status: 403,
      body: JSON.stringify({ message: 'User is not authorized to perform: rbin:ListRules' }),
      headers: { 'x-amzn-errortype': 'AccessDeniedException' },
    }));
    const clients = { rbin: () => rbin } as unknown as AwsClients;
    expect(await observeRecycleBin({ target: { recycleBin: false } as TargetProfile, clients }, 'us-east-1')).toBeUndefined();
    expect(wire.captured).toEqual([]);
    const sight = await observeRecycleBin({ target: { recycleBin: true } as TargetProfile, clients }, 'us-east-1');
    expect(sight).toEqual({ unknown: expect.stringContaining('rbin:ListRules') });
  });
});

describe('the inventory reads the retention rules only when its command asks (ObserveOptions.retentionRules)', () => {
  it('asks nothing without retentionRules, and reads both rule types with it', async () => {
    // Every other read of the inventory answered empty at the seam; the rules at the wire, counted.
    const { ec2, ssm } = mockableClients();
    mockClient(ec2).onAnyCommand().resolves({});
    mockClient(ssm).onAnyCommand().resolves({});
    const rbin = createRbinClient('us-east-1', env);
    const wire = captureAtTheWire(rbin, () => json({ Rules: [] }));
    const context = contextOver({ ec2, ssm, rbin });
    const images = [resolvedImageFixture({ name: 'web', regions: ['us-east-1'] })];

    const without = await observeInventory(context, images, { baseOverrides: { web: 'ami-0123456789abcdef0' }, retentionRules: false });
    expect(without.regions['us-east-1']!.recycleBin).toBeUndefined();
    expect(wire.captured).toEqual([]);

    const withRules = await observeInventory(context, images, { baseOverrides: { web: 'ami-0123456789abcdef0' }, retentionRules: true });
    expect(withRules.regions['us-east-1']!.recycleBin).toEqual({ rules: [] });
    // One ListRules for the AMIs' rules and one for the snapshots'.
    expect(wire.captured).toHaveLength(2);
  });
});
