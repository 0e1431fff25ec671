/**
 * moto's IAM enforcement, for tests that run gild as a user with a given
 * policy. moto checks nothing until its "no auth" budget is spent; the
 * budget is set at runtime through /moto-api/reset-auth (what
 * INITIAL_NO_AUTH_ACTION_COUNT sets at start-up), so a test can create the
 * user while checks are off and then turn them on at an exact moment,
 * without counting calls.
 */
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';

/**
 * An IAM query call; moto routes by the service in the credential scope and, while checks are off, does not verify the
 * signature. The access key names the account the call is made in (an assumed role's key: that role's account).
 */
async function iamCall(endpoint: string, action: string, parameters: Record<string, string>, accessKeyId = 'test'): Promise<string> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=setup`,
    },
    body: new URLSearchParams({ Action: action, Version: '2010-05-08', ...parameters }),
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`moto IAM ${action} answered ${response.status}: ${body}`);
  return body;
}

const xmlValue = (xml: string, element: string) => new RegExp(`<${element}>([^<]+)</${element}>`).exec(xml)?.[1];

/** Creates a user with exactly this inline policy and returns its access key. */
export async function createUserWithPolicy(endpoint: string, userName: string, policy: PolicyDocument): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  await iamCall(endpoint, 'CreateUser', { UserName: userName });
  await iamCall(endpoint, 'PutUserPolicy', { UserName: userName, PolicyName: 'gild-pipeline', PolicyDocument: JSON.stringify(policy) });
  const created = await iamCall(endpoint, 'CreateAccessKey', { UserName: userName });
  const accessKeyId = xmlValue(created, 'AccessKeyId');
  const secretAccessKey = xmlValue(created, 'SecretAccessKey');
  if (!accessKeyId || !secretAccessKey) throw new Error(`moto IAM CreateAccessKey returned no key: ${created}`);
  return { accessKeyId, secretAccessKey };
}

/** An instance profile (moto's RunInstances wants it to exist), in the account of `accessKeyId` (default: moto's own). */
export async function createInstanceProfile(endpoint: string, name: string, accessKeyId?: string): Promise<void> {
  await iamCall(endpoint, 'CreateInstanceProfile', { InstanceProfileName: name }, accessKeyId);
}

/** Turns IAM checks on (every later call must be signed by a user and allowed) or off. */
export async function enforceIam(endpoint: string, enforce: boolean): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: enforce ? '0' : '1e12' });
  if (!response.ok) throw new Error(`moto refused reset-auth: ${response.status} ${await response.text()}`);
}
