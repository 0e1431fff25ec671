/**
 * One EC2 and one SSM client per region, made lazily and shared by every
 * stage. The SDK reads credentials and `AWS_ENDPOINT_URL(_EC2|_SSM)` from the
 * environment the context carries, so the same code talks to AWS or an
 * emulator.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { createAutoScalingClients } from './autoscaling.ts';

export interface AwsClients {
  ec2(region: string): EC2Client;
  ssm(region: string): SSMClient;
  autoscaling(region: string): AutoScalingClient;
  /** The EC2 endpoint override, if any: Packer needs it passed explicitly. */
  readonly ec2Endpoint: string | undefined;
  readonly defaultRegion: string | undefined;
  destroy(): void;
}

// NOTE: adaptive retry adds client-side rate limiting on top of exponential
// backoff, which is what keeps a nightly run of many images inside the EC2
// and SSM API budgets. Throttling and 5xx answers are retried; nothing else is.
const maxAttempts = 8;

/**
 * Marks every error a client throws with the IAM action of the call
 * (`ssm:PutParameter`), so that a refusal can name what the role lacks even
 * when the answer could not be parsed (see deniedAction in aws-call.ts).
 */
function nameActionOnErrors<Client extends EC2Client | SSMClient>(client: Client, service: string): Client {
  const middleware = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
    try {
      return await next(args);
    } catch (error) {
      if (error && typeof error === 'object' && context.commandName) {
        Object.defineProperty(error, '$iamAction', { value: `${service}:${context.commandName.replace(/Command$/, '')}`, enumerable: false, configurable: true });
      }
      throw error;
    }
  };
  // NOTE: the cast only bridges the two clients' differently typed stacks; the middleware touches neither input nor output.
  (client.middlewareStack as SSMClient['middlewareStack']).add(middleware as never, { step: 'initialize', name: 'gildNameActionOnErrors' });
  return client;
}

export function createAwsClients(env: Readonly<Record<string, string | undefined>>): AwsClients {
  const ec2Endpoint = env.AWS_ENDPOINT_URL_EC2 ?? env.AWS_ENDPOINT_URL;
  const ssmEndpoint = env.AWS_ENDPOINT_URL_SSM ?? env.AWS_ENDPOINT_URL;
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  const ec2Clients = new Map<string, EC2Client>();
  const ssmClients = new Map<string, SSMClient>();
  const autoscalingClients = createAutoScalingClients(env);
  const common = (region: string) => ({ region, maxAttempts, retryMode: 'adaptive' as const, ...(credentials ? { credentials } : {}) });
  return {
    ec2Endpoint,
    defaultRegion: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    ec2(region) {
      let client = ec2Clients.get(region);
      if (!client) ec2Clients.set(region, (client = nameActionOnErrors(new EC2Client({ ...common(region), ...(ec2Endpoint ? { endpoint: ec2Endpoint } : {}) }), 'ec2')));
      return client;
    },
    ssm(region) {
      let client = ssmClients.get(region);
      if (!client) ssmClients.set(region, (client = nameActionOnErrors(new SSMClient({ ...common(region), ...(ssmEndpoint ? { endpoint: ssmEndpoint } : {}) }), 'ssm')));
      return client;
    },
    autoscaling: (region) => autoscalingClients.autoscaling(region),
    destroy() {
      for (const client of [...ec2Clients.values(), ...ssmClients.values()]) client.destroy();
      autoscalingClients.destroy();
    },
  };
}
