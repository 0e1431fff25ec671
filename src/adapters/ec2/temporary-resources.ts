/**
 * What a build or a smoke test makes for a while and a sweep removes: build security groups (created and tagged by
 * gild, so that Packer makes none of its own), Packer's `gild_*` key pairs, and the subnet reads a group needs.
 */
import type { EC2Client, SecurityGroup } from '@aws-sdk/client-ec2';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteKeyPairCommand,
  DeleteSecurityGroupCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  paginateDescribeSecurityGroups,
} from '@aws-sdk/client-ec2';
import { awsCall, awsErrorName } from '../aws-call.ts';
import { retry } from '../retry.ts';
import { recordToTags, tagsToRecord } from './client.ts';

export interface TemporaryResourceSummary {
  readonly kind: 'key-pair' | 'security-group';
  readonly id: string;
  readonly name: string;
  readonly createdAt: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** Key pairs named `gild_*`: Packer's temporary key pair (named by gild) and a Windows smoke test's. */
export async function describeGildKeyPairs(ec2: EC2Client): Promise<TemporaryResourceSummary[]> {
  const keyPairs = await awsCall('describe key pairs', 'gild_*', () => ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: ['gild_*'] }] })));
  return (
    (keyPairs.KeyPairs ?? [])
      // NOTE: not every emulator honours the key-name wildcard filter; the name decides.
      .filter((keyPair) => keyPair.KeyName?.startsWith('gild_'))
      .map((keyPair) => ({
        kind: 'key-pair' as const,
        id: keyPair.KeyPairId ?? keyPair.KeyName ?? '',
        name: keyPair.KeyName ?? '',
        createdAt: keyPair.CreateTime?.toISOString(),
        tags: tagsToRecord(keyPair.Tags),
      }))
  );
}

/** Key pairs named `gild_*` (Packer's temporary key pair, named by gild) and security groups gild created and tagged. */
export async function describeTemporaryResources(ec2: EC2Client): Promise<TemporaryResourceSummary[]> {
  const [keyPairs, groups] = await Promise.all([
    describeGildKeyPairs(ec2),
    awsCall('describe security groups', '(tag-key gild:run-id)', async () => {
      const found: SecurityGroup[] = [];
      for await (const page of paginateDescribeSecurityGroups({ client: ec2, pageSize: 1000 }, { Filters: [{ Name: 'tag-key', Values: ['gild:run-id'] }] })) found.push(...(page.SecurityGroups ?? []));
      return found;
    }),
  ]);
  return [...keyPairs, ...groups.map((group) => ({ kind: 'security-group' as const, id: group.GroupId ?? '', name: group.GroupName ?? '', createdAt: undefined, tags: tagsToRecord(group.Tags) }))];
}

/**
 * A security group for one build, created and tagged by gild so that Packer
 * creates none of its own (Packer's `packer_<uuid>` groups carry no tags, so a
 * crashed build's group could never be told apart from someone else's).
 */
export async function createBuildSecurityGroup(
  ec2: EC2Client,
  request: { name: string; description: string; vpcId: string | undefined; ingressPorts: readonly number[]; sourceCidrs: readonly string[]; tags: Readonly<Record<string, string>> },
): Promise<string> {
  return awsCall('create security group', request.name, async () => {
    let groupId: string | undefined;
    try {
      const created = await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: request.name,
          Description: request.description,
          ...(request.vpcId ? { VpcId: request.vpcId } : {}),
          TagSpecifications: [{ ResourceType: 'security-group', Tags: recordToTags(request.tags) }],
        }),
      );
      groupId = created.GroupId;
    } catch (error) {
      // A lost answer to an applied create: the group is ours if its name and run tag say so.
      if (awsErrorName(error) !== 'InvalidGroup.Duplicate') throw error;
      const existing = await ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [request.name] }, ...(request.vpcId ? [{ Name: 'vpc-id', Values: [request.vpcId] }] : [])] }),
      );
      const group = existing.SecurityGroups?.find((candidate) => tagsToRecord(candidate.Tags)['gild:run-id'] === request.tags['gild:run-id']);
      if (!group?.GroupId) throw error;
      groupId = group.GroupId;
    }
    if (!groupId) throw new Error('CreateSecurityGroup returned no group ID');
    if (request.ingressPorts.length > 0) {
      try {
        await ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: groupId,
            IpPermissions: request.ingressPorts.map((port) => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: request.sourceCidrs.map((CidrIp) => ({ CidrIp })) })),
          }),
        );
      } catch (error) {
        if (awsErrorName(error) !== 'InvalidPermission.Duplicate') throw error;
      }
    }
    return groupId;
  });
}

/** Deletes a security group; gone already is the outcome wanted. */
export async function deleteSecurityGroup(ec2: EC2Client, groupId: string): Promise<void> {
  await awsCall('delete security group', groupId, async () => {
    try {
      await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    } catch (error) {
      if (awsErrorName(error) === 'InvalidGroup.NotFound') return;
      throw error;
    }
  });
}

export async function deleteKeyPair(ec2: EC2Client, keyName: string): Promise<void> {
  await awsCall('delete key pair', keyName, () => ec2.send(new DeleteKeyPairCommand({ KeyName: keyName })));
}

/** The VPC of a subnet (a build security group must live in the build subnet's VPC). */
export async function subnetVpc(ec2: EC2Client, subnetId: string): Promise<string | undefined> {
  const output = await awsCall('describe subnet', subnetId, () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] })));
  return output.Subnets?.[0]?.VpcId;
}

/**
 * A terminating instance keeps its security group for a while (DependencyViolation): the group is deleted once it is
 * let go, waiting up to about two minutes, and `in-use` after that (the next run's sweep removes it).
 */
export async function deleteSecurityGroupOnceReleased(ec2: EC2Client, groupId: string, signal?: AbortSignal): Promise<'deleted' | 'in-use'> {
  const inUse = (error: unknown) => awsErrorName((error as Error | undefined)?.cause) === 'DependencyViolation';
  try {
    await retry(() => deleteSecurityGroup(ec2, groupId), { attempts: 8, baseDelayMs: 2000, maxDelayMs: 30_000, retryable: inUse, ...(signal ? { signal } : {}) });
    return 'deleted';
  } catch (error) {
    if (inUse(error)) return 'in-use';
    throw error;
  }
}
