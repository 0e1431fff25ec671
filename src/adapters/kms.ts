/**
 * KMS, read only: what `gild doctor` asks about the keys images are encrypted
 * with. A key is named as the definitions name it (key ID, alias or ARN) and
 * read in the region it is used in.
 */
import type * as KmsSdk from '@aws-sdk/client-kms';
import type { KMSClient } from '@aws-sdk/client-kms';
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSClient as KmsClient, paginateListGrants } from '@aws-sdk/client-kms';
import { awsCall, awsError, awsErrorName } from './aws-call.ts';
import { awsClientConfig, nameActionOnErrors } from './aws-client-config.ts';

// NOTE: the client's type, re-exported so that code above the adapters names it without importing the SDK.
export type { KMSClient };

/** `credentials` replaces the environment's (another account's role, see sts.ts). */
export function createKmsClient(region: string, env: Readonly<Record<string, string | undefined>>, credentials?: KmsSdk.KMSClientConfig['credentials']): KMSClient {
  return nameActionOnErrors(new KmsClient({ ...awsClientConfig(region, env.AWS_ENDPOINT_URL_KMS ?? env.AWS_ENDPOINT_URL, env), ...(credentials ? { credentials } : {}) }), 'kms');
}

export interface KeySummary {
  readonly arn: string;
  readonly keyId: string;
  readonly enabled: boolean;
  /** `Enabled`, `Disabled`, `PendingDeletion`, … */
  readonly keyState: string;
  /** EBS needs `ENCRYPT_DECRYPT`. */
  readonly keyUsage: string;
  /** EBS needs `SYMMETRIC_DEFAULT`. */
  readonly keySpec: string;
}

/** The key, or undefined when KMS knows no such key or alias in this region. */
export async function describeKey(kms: KMSClient, key: string): Promise<KeySummary | undefined> {
  try {
    const metadata = (await kms.send(new DescribeKeyCommand({ KeyId: key }))).KeyMetadata;
    return {
      arn: metadata?.Arn ?? '',
      keyId: metadata?.KeyId ?? '',
      enabled: metadata?.Enabled ?? false,
      keyState: metadata?.KeyState ?? '',
      keyUsage: metadata?.KeyUsage ?? '',
      keySpec: metadata?.KeySpec ?? metadata?.CustomerMasterKeySpec ?? '',
    };
  } catch (error) {
    if (awsErrorName(error) === 'NotFoundException') return undefined;
    throw awsError('describe key', key, error);
  }
}

/** The key policy (its JSON document), by key ID or ARN. */
export async function getKeyPolicy(kms: KMSClient, keyId: string): Promise<unknown> {
  const output = await awsCall('read the key policy of', keyId, () => kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' })));
  return output.Policy ? JSON.parse(output.Policy) : undefined;
}

/** Who the key's grants let use it, with which operations. */
export async function listGrantees(kms: KMSClient, keyId: string): Promise<{ readonly principal: string; readonly operations: readonly string[] }[]> {
  return awsCall('list the grants of', keyId, async () => {
    const grantees: { principal: string; operations: string[] }[] = [];
    for await (const page of paginateListGrants({ client: kms }, { KeyId: keyId })) {
      for (const grant of page.Grants ?? []) grantees.push({ principal: grant.GranteePrincipal ?? '', operations: grant.Operations ?? [] });
    }
    return grantees;
  });
}
