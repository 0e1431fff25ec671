/** Clients for a test that must not reach AWS: any client asked for throws, naming the service. */
import type { AwsClients } from '../../src/adapters/aws-clients.ts';

const refuse = (service: string) => () => {
  throw new Error(`no AWS in this test (${service} was asked for)`);
};

export const noAwsClients = {
  ec2: refuse('EC2'),
  ssm: refuse('SSM'),
  autoscaling: refuse('Auto Scaling'),
  ec2Endpoint: undefined,
  defaultRegion: undefined,
  destroy() {},
} as unknown as AwsClients;
