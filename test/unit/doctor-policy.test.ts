/**
 * The policy check of `gild doctor` at the adapter seam: moto has no
 * iam:SimulatePrincipalPolicy (it answers 500), so AWS's answers are stood in
 * for by aws-sdk-client-mock, and what this proves is what gild asks (every
 * Allow statement of its own generated policy, concrete resources, the tag
 * context its conditions need, the role behind an assumed-role caller) and what
 * it says of a denial.
 */
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand, type SimulatePrincipalPolicyCommandInput } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPolicy } from '../../src/doctor/check-account.ts';
import type { DoctorInput } from '../../src/doctor/doctor-input.ts';
import { concreteResource, contextFor, principalOfCaller, simulationRequests } from '../../src/doctor/simulation-requests.ts';
import { generatePolicy, scopeFromProject } from '../../src/iam/generate-policy.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const caller = { account: '123456789012', arn: 'arn:aws:sts::123456789012:assumed-role/gild-pipeline/nightly-42', userId: 'AROAEXAMPLE:nightly-42' };
const settings = pipelineSettingsSchema.parse({});
const image = resolvedImageFixture({ copyRegions: ['us-west-2'], smoke: { ...resolvedImageFixture().smoke, instanceProfile: 'gild-smoke' } });

function inputWith(iam: IAMClient): DoctorInput {
  const unused = () => {
    throw new Error('not used by the policy check');
  };
  return {
    settings,
    images: [image],
    regions: ['us-east-1', 'us-west-2'],
    homeRegion: 'us-east-1',
    runId: 'run',
    env: {},
    capabilities: { policySimulation: true, imageBlockPublicAccess: true, recycleBin: true },
    ec2: unused,
    ssm: unused,
    kms: unused,
    rbin: unused,
    iam,
  };
}

describe('the questions gild doctor asks iam:SimulatePrincipalPolicy', () => {
  const policy = generatePolicy({ ...scopeFromProject(settings, [image]), accountId: caller.account });

  it('come from every Allow statement of the generated policy, per region, and once for global services', () => {
    const requests = simulationRequests(policy, ['us-east-1', 'us-west-2'], caller);
    const allows = policy.Statement.filter((statement) => statement.Effect === 'Allow');
    expect(new Set(requests.map((request) => request.sid))).toEqual(new Set(allows.map((statement) => statement.Sid)));
    expect(new Set(requests.flatMap((request) => request.actions))).toEqual(new Set(allows.flatMap((statement) => statement.Action)));
    expect(requests.filter((request) => request.sid === 'LaunchTaggedInstances').map((request) => request.region)).toEqual(['us-east-1', 'us-west-2']);
    expect(requests.filter((request) => request.sid === 'PassInstanceProfiles').map((request) => request.region)).toEqual([undefined]);
  });

  it('name concrete resources: the region, the account, a sample where the policy has a wildcard', () => {
    expect(concreteResource('arn:aws:ec2:*:123456789012:instance/*', 'us-west-2', caller)).toBe('arn:aws:ec2:us-west-2:123456789012:instance/gild-doctor');
    expect(concreteResource('arn:aws:ec2:*::image/*', 'us-east-1', caller)).toBe('arn:aws:ec2:us-east-1::image/gild-doctor');
    expect(concreteResource('arn:aws:ec2:*:*:key-pair/packer_*', 'us-east-1', caller)).toBe('arn:aws:ec2:us-east-1:123456789012:key-pair/packer_gild-doctor');
    expect(concreteResource('arn:aws:ssm:*:123456789012:parameter/golden/*', 'us-east-1', caller)).toBe('arn:aws:ssm:us-east-1:123456789012:parameter/golden/gild-doctor');
    expect(concreteResource('arn:aws:iam::123456789012:role/gild-smoke', undefined, caller)).toBe('arn:aws:iam::123456789012:role/gild-smoke');
  });

  it("carry the request context each statement's conditions need", () => {
    const statement = (sid: string) => policy.Statement.find((candidate) => candidate.Sid === sid)!;
    expect(contextFor(statement('LaunchTaggedInstances'), 'us-east-1', caller)).toEqual([
      { key: 'aws:RequestTag/gild:role', type: 'string', values: ['build'] },
      { key: 'aws:RequestedRegion', type: 'string', values: ['us-east-1'] },
    ]);
    expect(contextFor(statement('RetagGildResources'), 'us-west-2', caller)).toContainEqual({ key: 'aws:ResourceTag/gild:image', type: 'string', values: ['xgild-doctor'] });
    // Null: true asks for the tag to be absent, so it is not sent; the request tag it pairs with is.
    expect(contextFor(statement('TagImagesPackerJustMade'), 'us-east-1', caller).map((entry) => entry.key)).toEqual(['aws:RequestTag/gild:image', 'aws:RequestedRegion']);
    expect(contextFor(statement('PassInstanceProfiles'), undefined, caller)).toEqual([{ key: 'iam:PassedToService', type: 'string', values: ['ec2.amazonaws.com'] }]);
  });

  it('are asked of the role behind an assumed-role session, not the session', () => {
    expect(principalOfCaller(caller.arn)).toEqual({ kind: 'role', roleName: 'gild-pipeline', arn: 'arn:aws:iam::123456789012:role/gild-pipeline' });
    expect(principalOfCaller('arn:aws:iam::123456789012:user/ci')).toEqual({ kind: 'user', arn: 'arn:aws:iam::123456789012:user/ci' });
    expect(principalOfCaller('arn:aws:iam::123456789012:root').kind).toBe('root');
  });
});

describe('the policy check', () => {
  const iam = new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = mockClient(iam);
  afterEach(() => mock.reset());

  /** AWS's answer: every pair allowed except `deniedAction`. */
  function answerAllowingAllBut(deniedAction: string | undefined) {
    mock
      .on(GetRoleCommand)
      .resolves({ Role: { RoleName: 'gild-pipeline', Arn: 'arn:aws:iam::123456789012:role/automation/gild-pipeline', Path: '/automation/', RoleId: 'AROA', CreateDate: new Date(0) } });
    mock.on(SimulatePrincipalPolicyCommand).callsFake((request: SimulatePrincipalPolicyCommandInput) => ({
      EvaluationResults: (request.ActionNames ?? []).map((action) => ({
        EvalActionName: action,
        EvalResourceName: '*',
        EvalDecision: action === deniedAction ? 'implicitDeny' : 'allowed',
        ResourceSpecificResults: (request.ResourceArns ?? []).map((resource) => ({
          EvalResourceName: resource,
          EvalResourceDecision: action === deniedAction ? 'implicitDeny' : 'allowed',
          MissingContextValues: [],
        })),
      })),
    }));
  }

  it("passes every statement the caller's policy allows, asking as the role with its path", async () => {
    answerAllowingAllBut(undefined);
    const lines = await checkPolicy(inputWith(iam), caller);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.filter((line) => line.status !== 'ok')).toEqual([]);
    const asked = mock.commandCalls(SimulatePrincipalPolicyCommand).map((call) => call.args[0].input);
    expect(new Set(asked.map((input) => input.PolicySourceArn))).toEqual(new Set(['arn:aws:iam::123456789012:role/automation/gild-pipeline']));
    const passRole = asked.find((input) => input.ActionNames?.includes('iam:PassRole'));
    expect(passRole?.ResourceArns).toEqual(['arn:aws:iam::123456789012:role/gild-smoke']);
    expect(passRole?.ContextEntries).toEqual([{ ContextKeyName: 'iam:PassedToService', ContextKeyType: 'string', ContextKeyValues: ['ec2.amazonaws.com'] }]);
  });

  it('fails the statement whose action the policy lacks, naming the action, the resource and the fix', async () => {
    answerAllowingAllBut('ec2:CreateImage');
    const failedLines = (await checkPolicy(inputWith(iam), caller)).filter((line) => line.status === 'failed');
    expect(failedLines.map((line) => line.subject)).toEqual(['BuildImagesFromGildInstances', 'CreateAndCopyImages']);
    expect(failedLines[0]?.detail).toBe(
      'denied: ec2:CreateImage on arn:aws:ec2:us-east-1:123456789012:instance/gild-doctor in us-east-1 (implicitDeny); ec2:CreateImage on arn:aws:ec2:us-west-2:123456789012:instance/gild-doctor in us-west-2 (implicitDeny)',
    );
    expect(failedLines[0]?.fix).toBe(
      'give arn:aws:iam::123456789012:role/automation/gild-pipeline statement BuildImagesFromGildInstances of `gild iam-policy` (attach `gild iam-policy --json` to it), or the same grants in its own policy',
    );
  });

  it('says not checked, never passed, where the target cannot simulate', async () => {
    const lines = await checkPolicy(
      { ...inputWith(iam), capabilities: { policySimulation: 'the emulator cannot answer iam:SimulatePrincipalPolicy', imageBlockPublicAccess: true, recycleBin: true } },
      caller,
    );
    expect(lines).toEqual([expect.objectContaining({ status: 'not-checked', detail: 'the emulator cannot answer iam:SimulatePrincipalPolicy' })]);
    expect(mock.commandCalls(SimulatePrincipalPolicyCommand)).toEqual([]);
  });

  it('says not checked, naming the action to grant, when the caller may not simulate', async () => {
    mock.on(GetRoleCommand).resolves({ Role: { RoleName: 'gild-pipeline', Arn: 'arn:aws:iam::123456789012:role/gild-pipeline', Path: '/', RoleId: 'AROA', CreateDate: new Date(0) } });
    mock
      .on(SimulatePrincipalPolicyCommand)
      .rejects(Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/gild-pipeline/nightly-42 is not authorized to perform: iam:SimulatePrincipalPolicy'), { name: 'AccessDenied' }));
    const lines = await checkPolicy(inputWith(iam), caller);
    expect(lines).toEqual([expect.objectContaining({ status: 'not-checked', fix: 'grant iam:SimulatePrincipalPolicy to the caller (read only), or run gild doctor as someone who may' })]);
  });
});
