/**
 * One EC2 and one SSM client per region, made lazily and shared by every
 * stage. The SDK reads credentials and `AWS_ENDPOINT_URL(_EC2|_SSM)` from the
 * environment the context carries, so the same code talks to AWS or an
 * emulator.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ec2Endpoint as ec2EndpointOf } from './aws-client-config.ts';
import { createAutoScalingClients } from './autoscaling.ts';
import { createEc2Client } from './ec2.ts';
import { createRbinClient, type RbinClient } from './rbin.ts';
import { createSsmClient } from './ssm.ts';
import { createAccountClients, type AccountClients, type AccountTarget } from './sts.ts';

export interface AwsClients {
  ec2(region: string): EC2Client;
  ssm(region: string): SSMClient;
  autoscaling(region: string): AutoScalingClient;
  /**
   * Recycle Bin's retention rules; asked only where the target profile says the account has a Recycle Bin. Optional so
   * that the fakes tests build of this interface need not name it: without it, the rules are said as not read.
   */
  rbin?(region: string): RbinClient;
  /** The EC2 endpoint override, if any: Packer needs it passed explicitly. */
  readonly ec2Endpoint: string | undefined;
  readonly defaultRegion: string | undefined;
  destroy(): void;
}

export function createAwsClients(env: Readonly<Record<string, string | undefined>>): AwsClients {
  const ec2Endpoint = ec2EndpointOf(env);
  const ec2Clients = new Map<string, EC2Client>();
  const ssmClients = new Map<string, SSMClient>();
  const autoscalingClients = createAutoScalingClients(env);
  const rbinClients = new Map<string, RbinClient>();
  const awsClients: AwsClients = {
    ec2Endpoint,
    defaultRegion: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    ec2(region) {
      let client = ec2Clients.get(region);
      if (!client) ec2Clients.set(region, (client = createEc2Client(region, ec2Endpoint, env)));
      return client;
    },
    ssm(region) {
      let client = ssmClients.get(region);
      if (!client) ssmClients.set(region, (client = createSsmClient(region, env)));
      return client;
    },
    autoscaling: (region) => autoscalingClients.autoscaling(region),
    rbin(region) {
      let client = rbinClients.get(region);
      if (!client) rbinClients.set(region, (client = createRbinClient(region, env)));
      return client;
    },
    destroy() {
      for (const client of [...ec2Clients.values(), ...ssmClients.values(), ...rbinClients.values()]) client.destroy();
      for (const clients of accountClientsOf.get(awsClients)?.values() ?? []) clients.destroy();
      autoscalingClients.destroy();
    },
  };
  return awsClients;
}

// NOTE: kept beside the clients rather than in them, so that every AwsClients (tests make their own) can reach other
// accounts; the clients of an account live as long as the AwsClients they were made for.
const accountClientsOf = new WeakMap<AwsClients, Map<string, AccountClients>>();

/** EC2 and SSM in another account, through its role: one session per account and run, named `sessionName`. */
export function clientsInAccount(clients: AwsClients, env: Readonly<Record<string, string | undefined>>, target: AccountTarget, sessionName: string): AccountClients {
  let byAccount = accountClientsOf.get(clients);
  if (!byAccount) accountClientsOf.set(clients, (byAccount = new Map()));
  const key = `${target.account} ${target.roleArn}`;
  let inAccount = byAccount.get(key);
  if (!inAccount) byAccount.set(key, (inAccount = createAccountClients(env, { ...target, sessionName, region: clients.defaultRegion })));
  return inAccount;
}
