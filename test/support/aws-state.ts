/** Reads what gild left in the emulator, for assertions. */
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';

/** Whom the reads are signed as: moto's default key, or (while moto enforces IAM) a user allowed to read. */
export interface ReadCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const motoDefault: ReadCredentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export function awsClients(endpoint: string, region = 'us-east-1', credentials: ReadCredentials = motoDefault) {
  const config = { region, endpoint, credentials };
  return { ec2: new EC2Client(config), ssm: new SSMClient(config) };
}

export async function parametersUnder(endpoint: string, region: string, path: string, credentials?: ReadCredentials): Promise<Record<string, string>> {
  const { ssm } = awsClients(endpoint, region, credentials);
  const found: Record<string, string> = {};
  let NextToken: string | undefined;
  do {
    const page = await ssm.send(new GetParametersByPathCommand({ Path: path, Recursive: true, NextToken }));
    for (const parameter of page.Parameters ?? []) found[parameter.Name!] = parameter.Value!;
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

export async function imageState(endpoint: string, region: string, amiId: string, credentials?: ReadCredentials) {
  const { ec2 } = awsClients(endpoint, region, credentials);
  const images = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'image-id', Values: [amiId] }] }));
  const image = images.Images?.[0];
  return image
    ? {
        tags: Object.fromEntries((image.Tags ?? []).map((tag) => [tag.Key!, tag.Value!])),
        snapshotIds: (image.BlockDeviceMappings ?? []).map((mapping) => mapping.Ebs?.SnapshotId).filter(Boolean) as string[],
      }
    : undefined;
}

export async function snapshotExists(endpoint: string, region: string, snapshotId: string, credentials?: ReadCredentials): Promise<boolean> {
  const { ec2 } = awsClients(endpoint, region, credentials);
  const snapshots = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'snapshot-id', Values: [snapshotId] }] }));
  return (snapshots.Snapshots ?? []).length > 0;
}

/** Instances gild tagged that are not terminated (or terminating). */
export async function liveGildInstances(endpoint: string, region = 'us-east-1'): Promise<string[]> {
  const { ec2 } = awsClients(endpoint, region);
  const result = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag-key', Values: ['gild:run-id'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    }),
  );
  return (result.Reservations ?? []).flatMap((reservation) => (reservation.Instances ?? []).map((instance) => instance.InstanceId!));
}
