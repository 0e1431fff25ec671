/**
 * The Recycle Bin calls gild makes on real AWS (moto has none, so no recorded integration request carries them):
 * evaluated against the shipped policy (pipeline/iam-policy.json) like the recorded ones (test/integration/
 * iam-simulation.test.ts): request → the authorizations AWS's Service Authorization Reference lists → the simulator.
 * Each allowed request has a denied twin in a region the project does not use, so none passes by allowing everything.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { authorizationsOf } from '../support/iam-authorizations.ts';
import type { RecordedRequest } from '../support/iam-recorder.ts';
import { evaluate } from '../support/iam-simulation.ts';
import { repoRoot } from '../support/project.ts';

const account = '123456789012';
const principal = `arn:aws:iam::${account}:role/gild-pipeline`;
let policy: PolicyDocument;

beforeAll(async () => {
  policy = JSON.parse(await readFile(path.join(repoRoot, 'pipeline/iam-policy.json'), 'utf8')) as PolicyDocument;
});

function request(fields: Partial<RecordedRequest> & Pick<RecordedRequest, 'action'>): RecordedRequest {
  const { query, ...rest } = fields;
  return { seq: 0, sender: 'gild', service: 'ec2', region: 'us-east-1', accessKeyId: 'test', json: {}, tagsBefore: {}, status: 200, answer: '', ...rest, query: { Action: fields.action, ...query } };
}

async function allowed(fields: Partial<RecordedRequest> & Pick<RecordedRequest, 'action'>): Promise<boolean> {
  const authorizations = authorizationsOf(request(fields), { accountOf: () => account });
  expect(authorizations.length).toBeGreaterThan(0);
  for (const authorization of authorizations) if ((await evaluate(policy, authorization, principal)).result !== 'Allowed') return false;
  return true;
}

describe('the shipped policy and the Recycle Bin', () => {
  const calls: ReadonlyArray<Partial<RecordedRequest> & Pick<RecordedRequest, 'action'>> = [
    { action: 'ListImagesInRecycleBin' },
    { action: 'ListSnapshotsInRecycleBin' },
    // An AMI in the bin: its tags are not relied on (the grant is not tag-scoped), so none are given here.
    { action: 'RestoreImageFromRecycleBin', query: { ImageId: 'ami-0123456789abcdef0' } },
    { action: 'RestoreSnapshotFromRecycleBin', query: { SnapshotId: 'snap-0123456789abcdef0' } },
    { service: 'rbin', action: 'ListRules' },
    { service: 'rbin', action: 'GetRule', query: { Identifier: 'a12bCdEfGh3' } },
  ];
  for (const call of calls) {
    it(`allows ${call.service ?? 'ec2'}:${call.action} in the project's regions, and not elsewhere`, async () => {
      expect(await allowed(call)).toBe(true);
      expect(await allowed({ ...call, region: 'ap-south-2' })).toBe(false);
    });
  }

  // The shipped policy names no account (`*`); with settings.accountId every account-scoped ARN names it, and an AMI's
  // or a snapshot's ARN has no account at all, so a grant on them must be written without one.
  it('allows the restores with the policy generated for a named account', async () => {
    const shipped = policy;
    policy = JSON.parse(JSON.stringify(shipped).replaceAll(/(arn:aws:[a-z0-9-]+:[^:"]*:)\*:/g, `$1${account}:`)) as PolicyDocument;
    try {
      for (const call of calls.filter((candidate) => candidate.action.startsWith('Restore'))) expect(await allowed(call)).toBe(true);
    } finally {
      policy = shipped;
    }
  });
});
