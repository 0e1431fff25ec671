/**
 * The evidence bucket's grants (settings `evidence`), evaluated by the IAM simulator like every other statement: the
 * run may store and read SBOMs under the prefix and list only there, and nothing else in the bucket or elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { generatePolicy, type PolicyScope } from '../../src/iam/generate-policy.ts';
import type { Authorization } from '../support/iam-authorizations.ts';
import { evaluate } from '../support/iam-simulation.ts';

const scope: PolicyScope = {
  ssmPrefix: '/golden',
  regions: ['us-east-1'],
  accountId: '123456789012',
  kmsKeys: [],
  instanceProfiles: [],
  temporaryInstanceProfile: false,
  sessionManager: false,
  spot: false,
  windows: false,
  baseParameters: [],
  distributionRoleArns: [],
  evidence: { bucket: 'acme-evidence', prefix: 'gild/evidence' },
};
const principal = 'arn:aws:iam::123456789012:role/gild-pipeline';

const authorization = (action: string, resource: string, context: Record<string, string> = {}): Authorization => ({
  request: { seq: 0, sender: 'gild', service: 's3', action, region: 'eu-central-1' },
  action,
  resource,
  context: { 'aws:RequestedRegion': 'eu-central-1', ...context },
});

const verdict = async (policyScope: PolicyScope, action: string, resource: string, context?: Record<string, string>) =>
  (await evaluate(generatePolicy(policyScope), authorization(action, resource, context), principal)).result;

describe('the evidence bucket in the generated policy', () => {
  it("lets the run store and read SBOMs under the prefix, in the bucket's own region, and list only there", async () => {
    expect(await verdict(scope, 's3:PutObject', 'arn:aws:s3:::acme-evidence/gild/evidence/web/1.0.0/sbom.cdx.json')).toBe('Allowed');
    expect(await verdict(scope, 's3:GetObject', 'arn:aws:s3:::acme-evidence/gild/evidence/web/0.9.9/sbom.cdx.json')).toBe('Allowed');
    expect(await verdict(scope, 's3:ListBucket', 'arn:aws:s3:::acme-evidence', { 's3:prefix': 'gild/evidence/web/1.0.0/sbom.cdx.json' })).toBe('Allowed');
  });

  it('refuses anything else in the bucket, another bucket, and any S3 access when no evidence bucket is set', async () => {
    expect(await verdict(scope, 's3:PutObject', 'arn:aws:s3:::acme-evidence/other/file')).toBe('ImplicitlyDenied');
    expect(await verdict(scope, 's3:GetObject', 'arn:aws:s3:::another-bucket/gild/evidence/web/1.0.0/sbom.cdx.json')).toBe('ImplicitlyDenied');
    expect(await verdict(scope, 's3:ListBucket', 'arn:aws:s3:::acme-evidence', { 's3:prefix': 'other/' })).toBe('ImplicitlyDenied');
    expect(await verdict(scope, 's3:DeleteObject', 'arn:aws:s3:::acme-evidence/gild/evidence/web/1.0.0/sbom.cdx.json')).toBe('ImplicitlyDenied');
    const { evidence: _evidence, ...without } = scope;
    expect(await verdict(without, 's3:GetObject', 'arn:aws:s3:::acme-evidence/gild/evidence/web/1.0.0/sbom.cdx.json')).toBe('ImplicitlyDenied');
  });
});
