/**
 * One EC2 and one SSM client per region, made lazily and shared by every
 * stage. The SDK reads credentials and `AWS_ENDPOINT_URL(_EC2|_SSM)` from the
 * environment the context carries, so the same code talks to AWS or an
 * emulator.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { awsClientConfig, ec2Endpoint as ec2EndpointOf } from './aws-client-config.ts';
import { createSsmClient } from './ssm.ts';

export interface AwsClients {
  ec2(region: string): EC2Client;
  ssm(region: string): SSMClient;
  /** The EC2 endpoint override, if any: Packer needs it passed explicitly. */
  readonly ec2Endpoint: string | undefined;
  readonly defaultRegion: string | undefined;
  destroy(): void;
}

export function createAwsClients(env: Readonly<Record<string, string | undefined>>): AwsClients {
  const ec2Endpoint = ec2EndpointOf(env);
  const ec2Clients = new Map<string, EC2Client>();
  const ssmClients = new Map<string, SSMClient>();
  return {
    ec2Endpoint,
    defaultRegion: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    ec2(region) {
      let client = ec2Clients.get(region);
      if (!client) ec2Clients.set(region, (client = new EC2Client(awsClientConfig(region, ec2Endpoint, env))));
      return client;
    },
    ssm(region) {
      let client = ssmClients.get(region);
      if (!client) ssmClients.set(region, (client = createSsmClient(region, env)));
      return client;
    },
    destroy() {
      for (const client of [...ec2Clients.values(), ...ssmClients.values()]) client.destroy();
    },
  };
}
