/**
 * The smoke test's temporary key pair and the Windows password it unlocks: a Windows instance launched with a key
 * pair gets a new Administrator password from EC2Launch at its first boot (only after Sysprep), encrypted with the
 * key pair's public key, and GetPasswordData hands it back. gild creates the key pair per smoke test, keeps the
 * private key in memory only, and deletes the key pair when the smoke test ends; a crash leaves it named and tagged
 * for the next run's sweep (`gild_<runId>-smoke_<image>`, tags gild:run-id, gild:image, gild:role=smoke).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { CreateKeyPairCommand, DescribeKeyPairsCommand, GetPasswordDataCommand } from '@aws-sdk/client-ec2';
import { createWaiter, WaiterState, type WaiterResult } from '@smithy/core/client';
import { awsCall, awsError, awsErrorName } from '../aws-call.ts';
import { recordToTags, tagsToRecord } from './client.ts';
import { waiterDelays } from './instances.ts';
import { deleteKeyPair } from './temporary-resources.ts';

export interface TemporaryKeyPair {
  readonly name: string;
  /** PEM, as CreateKeyPair returned it: never written anywhere, never logged. */
  readonly privateKeyPem: string;
}

/**
 * Creates an RSA key pair (EC2 encrypts a Windows password with RSA keys only), tagged in the same call.
 * A lost answer to an applied create leaves a key pair whose private key nobody holds: when the one of that name
 * carries this run's tag it is that one, and it is deleted and made again (once); any other is someone else's.
 */
export async function createTemporaryKeyPair(ec2: EC2Client, request: { readonly name: string; readonly tags: Readonly<Record<string, string>> }): Promise<TemporaryKeyPair> {
  const create = () =>
    ec2.send(
      new CreateKeyPairCommand({
        KeyName: request.name,
        KeyType: 'rsa',
        KeyFormat: 'pem',
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: recordToTags(request.tags) }],
      }),
    );
  return awsCall('create key pair', request.name, async () => {
    let created;
    try {
      created = await create();
    } catch (error) {
      if (awsErrorName(error) !== 'InvalidKeyPair.Duplicate') throw error;
      const existing = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: [request.name] }));
      const ours = existing.KeyPairs?.some((keyPair) => tagsToRecord(keyPair.Tags)['gild:run-id'] === request.tags['gild:run-id']);
      if (!ours) throw error;
      await deleteKeyPair(ec2, request.name);
      created = await create();
    }
    if (!created.KeyMaterial) throw new Error('CreateKeyPair returned no key material');
    return { name: request.name, privateKeyPem: created.KeyMaterial };
  });
}

/** One GetPasswordData: the encrypted password, or '' while there is none. */
export async function readPasswordData(ec2: EC2Client, instanceId: string): Promise<string> {
  return awsCall('read the Windows password data of', instanceId, async () => (await ec2.send(new GetPasswordDataCommand({ InstanceId: instanceId }))).PasswordData?.trim() ?? '');
}

export type PasswordDataWait = { readonly kind: 'available'; readonly passwordData: string } | { readonly kind: 'timed-out' } | { readonly kind: 'interrupted' };

type PasswordAcceptance = WaiterResult<{ passwordData: string } | { error: unknown }>;

/**
 * Waits until GetPasswordData answers a non-empty PasswordData (EC2Launch has set and encrypted the password), up to
 * `timeoutMs`. The polling, deadline and abort are the SDK's waiter (`createWaiter`, which its own
 * `waitUntilPasswordDataAvailable` is made of) with gild's acceptors: the SDK's waiter retries every error, so an
 * AccessDenied would only end at the deadline, many minutes later.
 */
export async function waitForPasswordData(ec2: EC2Client, instanceId: string, options: { timeoutMs: number; pollMs: number; signal: AbortSignal }): Promise<PasswordDataWait> {
  const seconds = options.timeoutMs / 1000;
  if (options.signal.aborted) return { kind: 'interrupted' };
  if (seconds <= 0) return { kind: 'timed-out' };
  const checkPassword = async (client: EC2Client, input: { InstanceId: string }): Promise<PasswordAcceptance> => {
    try {
      const passwordData = (await client.send(new GetPasswordDataCommand(input))).PasswordData?.trim() ?? '';
      return passwordData ? { state: WaiterState.SUCCESS, reason: { passwordData } } : { state: WaiterState.RETRY };
    } catch (error) {
      // NOTE: right after RunInstances, AWS may not know the ID yet, as in waitForInstanceRunning.
      if (awsErrorName(error) === 'InvalidInstanceID.NotFound') return { state: WaiterState.RETRY };
      return { state: WaiterState.FAILURE, reason: { error } };
    }
  };
  const result = await createWaiter({ client: ec2, abortSignal: options.signal, maxWaitTime: seconds, ...waiterDelays(options.pollMs, seconds) }, { InstanceId: instanceId }, checkPassword);
  if (result.state === WaiterState.ABORTED) return { kind: 'interrupted' };
  if (result.state === WaiterState.TIMEOUT) return { kind: 'timed-out' };
  const final = result.final as { passwordData: string } | { error: unknown } | undefined;
  if (result.state === WaiterState.SUCCESS && final && 'passwordData' in final) return { kind: 'available', passwordData: final.passwordData };
  throw awsError('read the Windows password data of', instanceId, final && 'error' in final ? final.error : new Error(`the wait ended in ${result.state}`));
}
