/**
 * STS: working in another account. gild assumes the account's distribution role and gets EC2 and SSM clients
 * there, configured exactly like the building account's (aws-client-config.ts: the same endpoint override and
 * retries). The session is named after gild and the run, so the target account's CloudTrail says which run did
 * what. One AssumeRole serves every client of the account; the credentials are renewed before they expire, so a
 * long copy or smoke test outlives the first session.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type * as CredentialProviders from '@aws-sdk/credential-providers';
import { catalogue } from '../errors.ts';
import { awsCall } from './aws-call.ts';
import { awsClientConfig, ec2Endpoint } from './aws-client-config.ts';
import { createAutoScalingClients } from './autoscaling.ts';
import { createEc2Client } from './ec2.ts';
import { createSsmClient } from './ssm.ts';

export interface AccountTarget {
  readonly account: string;
  readonly roleArn: string;
}

/** EC2 and SSM in one other account, made lazily per region, all on one assumed-role session. */
export interface AccountClients extends AccountTarget {
  ec2(region: string): EC2Client;
  /**
   * An EC2 client whose calls are sent once: the SDK does not retry them on its own. For a create whose retry
   * could make a second resource where AWS's idempotency token is not honoured; the caller reads back, then retries.
   */
  ec2SingleAttempt(region: string): EC2Client;
  ssm(region: string): SSMClient;
  /** For the reference check before a copy there is removed. */
  autoscaling(region: string): AutoScalingClient;
  /** Assumes the role now: a refusal is a clear error naming the role and the account (`EASSUMEROLE`), not a failed call later. */
  confirmAccess(): Promise<void>;
  /** The session's credentials (renewed as the clients' are), for a client of another service in that account. */
  credentials(): Promise<{ readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string; readonly expiration?: Date }>;
  destroy(): void;
}

/** Renew this long before the session expires, so that no call is signed with credentials about to lapse. */
const renewBeforeMs = 5 * 60_000;
const sessionSeconds = 3600;

/** `gild-<runId>`, within what STS accepts for a session name (64 characters of `[\w+=,.@-]`). */
export const sessionNameFor = (runId: string) => `gild-${runId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);

export function createAccountClients(env: Readonly<Record<string, string | undefined>>, target: AccountTarget & { readonly sessionName: string; readonly region: string | undefined }): AccountClients {
  const base = awsClientConfig(target.region ?? 'us-east-1', env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL, env);
  // NOTE: the credential providers (and the STS client they bring) are loaded when an account's credentials are first
  // needed, not at start-up: most runs distribute to no other account.
  let assume: Promise<ReturnType<typeof CredentialProviders.fromTemporaryCredentials>> | undefined;
  const assumeRole = async () => {
    assume ??= import('@aws-sdk/credential-providers').then(({ fromTemporaryCredentials }) =>
      fromTemporaryCredentials({
        params: { RoleArn: target.roleArn, RoleSessionName: target.sessionName, DurationSeconds: sessionSeconds },
        ...(base.credentials ? { masterCredentials: base.credentials } : {}),
        clientConfig: { region: base.region, maxAttempts: base.maxAttempts, ...(base.endpoint ? { endpoint: base.endpoint } : {}) },
      }),
    );
    return (await assume)();
  };
  // NOTE: every client would otherwise assume the role on its own; one session, renewed when near expiry, serves all.
  let current: Awaited<ReturnType<typeof assumeRole>> | undefined;
  let pending: Promise<Awaited<ReturnType<typeof assumeRole>>> | undefined;
  const credentials = async () => {
    if (current && (!current.expiration || current.expiration.getTime() - Date.now() > renewBeforeMs)) return current;
    pending ??= assumeRole()
      .then((fresh) => (current = fresh))
      .finally(() => (pending = undefined));
    return pending;
  };
  const ec2Clients = new Map<string, EC2Client>();
  const singleAttemptClients = new Map<string, EC2Client>();
  const ssmClients = new Map<string, SSMClient>();
  const autoscalingClients = createAutoScalingClients(env, credentials);
  const ec2For = (clients: Map<string, EC2Client>, region: string, maxAttempts?: number) => {
    let client = clients.get(region);
    if (!client) clients.set(region, (client = createEc2Client(region, ec2Endpoint(env), env, { credentials, ...(maxAttempts ? { maxAttempts } : {}) })));
    return client;
  };
  return {
    account: target.account,
    roleArn: target.roleArn,
    ec2: (region) => ec2For(ec2Clients, region),
    ec2SingleAttempt: (region) => ec2For(singleAttemptClients, region, 1),
    ssm(region) {
      let client = ssmClients.get(region);
      if (!client) ssmClients.set(region, (client = createSsmClient(region, env, credentials)));
      return client;
    },
    autoscaling: (region) => autoscalingClients.autoscaling(region),
    credentials,
    async confirmAccess() {
      try {
        await credentials();
      } catch (error) {
        throw catalogue.EASSUMEROLE(target.roleArn, target.account, error);
      }
    },
    destroy() {
      for (const client of [...ec2Clients.values(), ...singleAttemptClients.values(), ...ssmClients.values()]) client.destroy();
      autoscalingClients.destroy();
    },
  };
}

export interface CallerIdentity {
  readonly account: string;
  /** `arn:aws:iam::…:user/…`, `arn:aws:sts::…:assumed-role/<role>/<session>` or `…:root`. */
  readonly arn: string;
  readonly userId: string;
}

/** Who the credentials are (STS GetCallerIdentity, which needs no permission). */
export async function callerIdentity(env: Readonly<Record<string, string | undefined>>): Promise<CallerIdentity> {
  // NOTE: loaded when asked: only `gild doctor` asks, and the run's start-up stays without the STS client.
  const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
  const client = new STSClient(awsClientConfig(env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1', env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL, env));
  try {
    const output = await awsCall('read the caller identity', '(credentials)', () => client.send(new GetCallerIdentityCommand({})));
    return { account: output.Account ?? '', arn: output.Arn ?? '', userId: output.UserId ?? '' };
  } finally {
    client.destroy();
  }
}
