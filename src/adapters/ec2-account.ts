/**
 * EC2 reads about the account rather than its images: which regions it has
 * enabled, whether it blocks public AMI sharing, and the network an instance
 * lands in (subnets, routes, VPC endpoints). Only `gild doctor` makes them;
 * they sit apart from ec2.ts, the run's adapter, which never needs them.
 */
import type { EC2Client, Filter } from '@aws-sdk/client-ec2';
import { DescribeRegionsCommand, GetImageBlockPublicAccessStateCommand, paginateDescribeRouteTables, paginateDescribeSubnets, paginateDescribeVpcEndpoints } from '@aws-sdk/client-ec2';
import { awsCall, awsError, awsErrorName } from './aws-call.ts';

/** Every region of the partition with its opt-in status (`opt-in-not-required`, `opted-in`, `not-opted-in`). */
export async function describeRegionOptIn(ec2: EC2Client): Promise<Record<string, string>> {
  const output = await awsCall('describe regions', '(all regions)', () => ec2.send(new DescribeRegionsCommand({ AllRegions: true })));
  return Object.fromEntries((output.Regions ?? []).map((region) => [region.RegionName ?? '', region.OptInStatus ?? '']));
}

/** `block-new-sharing` or `unblocked`: whether the region refuses to make AMIs public. */
export async function imageBlockPublicAccessState(ec2: EC2Client): Promise<string> {
  const output = await awsCall('read the image block public access state', '(region)', () => ec2.send(new GetImageBlockPublicAccessStateCommand({})));
  return output.ImageBlockPublicAccessState ?? '';
}

export interface SubnetSummary {
  readonly subnetId: string;
  readonly vpcId: string;
  readonly mapPublicIpOnLaunch: boolean;
}

const subnetOf = (subnet: { SubnetId?: string | undefined; VpcId?: string | undefined; MapPublicIpOnLaunch?: boolean | undefined }): SubnetSummary => ({
  subnetId: subnet.SubnetId ?? '',
  vpcId: subnet.VpcId ?? '',
  mapPublicIpOnLaunch: subnet.MapPublicIpOnLaunch ?? false,
});

async function describeSubnets(ec2: EC2Client, input: { SubnetIds?: string[]; Filters?: Filter[] }): Promise<SubnetSummary[]> {
  const subnets: SubnetSummary[] = [];
  for await (const page of paginateDescribeSubnets({ client: ec2 }, input)) for (const subnet of page.Subnets ?? []) subnets.push(subnetOf(subnet));
  return subnets;
}

/** The subnet, or undefined when the region has no such subnet. */
export async function findSubnet(ec2: EC2Client, subnetId: string): Promise<SubnetSummary | undefined> {
  try {
    return (await describeSubnets(ec2, { SubnetIds: [subnetId] }))[0];
  } catch (error) {
    if (awsErrorName(error) === 'InvalidSubnetID.NotFound') return undefined;
    throw awsError('describe subnet', subnetId, error);
  }
}

/** The default VPC's default subnets (one per zone), where EC2 launches an instance given no subnet; empty without a default VPC. */
export async function defaultSubnets(ec2: EC2Client): Promise<SubnetSummary[]> {
  return awsCall('describe default subnets', '(default-for-az)', () => describeSubnets(ec2, { Filters: [{ Name: 'default-for-az', Values: ['true'] }] }));
}

export interface RouteSummary {
  readonly destination: string;
  /** `igw-…`, `nat-…`, `tgw-…`, `local`, … */
  readonly target: string;
}

/** The routes a subnet's traffic follows: its own route table, else its VPC's main one. */
export async function routesOfSubnet(ec2: EC2Client, subnet: SubnetSummary): Promise<RouteSummary[]> {
  return awsCall('describe route tables of', subnet.subnetId, async () => {
    const tables = [];
    for await (const page of paginateDescribeRouteTables({ client: ec2 }, { Filters: [{ Name: 'vpc-id', Values: [subnet.vpcId] }] })) tables.push(...(page.RouteTables ?? []));
    const own = tables.find((table) => (table.Associations ?? []).some((association) => association.SubnetId === subnet.subnetId));
    const main = tables.find((table) => (table.Associations ?? []).some((association) => association.Main));
    return ((own ?? main)?.Routes ?? [])
      .filter((route) => route.State !== 'blackhole')
      .map((route) => ({
        destination: route.DestinationCidrBlock ?? route.DestinationIpv6CidrBlock ?? route.DestinationPrefixListId ?? '',
        target: route.NatGatewayId ?? route.TransitGatewayId ?? route.GatewayId ?? route.NetworkInterfaceId ?? route.VpcPeeringConnectionId ?? route.InstanceId ?? '',
      }));
  });
}

export interface VpcEndpointSummary {
  /** e.g. `com.amazonaws.us-east-1.ssm`. */
  readonly serviceName: string;
  readonly state: string;
  readonly privateDns: boolean;
  readonly subnetIds: readonly string[];
}

/** The interface endpoints of a VPC. */
export async function vpcEndpointsOf(ec2: EC2Client, vpcId: string): Promise<VpcEndpointSummary[]> {
  return awsCall('describe VPC endpoints of', vpcId, async () => {
    const endpoints: VpcEndpointSummary[] = [];
    for await (const page of paginateDescribeVpcEndpoints({ client: ec2 }, { Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })) {
      for (const endpoint of page.VpcEndpoints ?? []) {
        endpoints.push({ serviceName: endpoint.ServiceName ?? '', state: (endpoint.State ?? '').toLowerCase(), privateDns: endpoint.PrivateDnsEnabled ?? false, subnetIds: endpoint.SubnetIds ?? [] });
      }
    }
    return endpoints;
  });
}
