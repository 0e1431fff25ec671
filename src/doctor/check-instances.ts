/**
 * Where a run's instances land and what they may do: the smoke instance
 * profile (it must exist and let the SSM agent register, or Run Command never
 * reaches the instance), and the subnet (it must exist and reach SSM, through
 * VPC endpoints or a route out).
 */
import { defaultSubnets, findSubnet, routesOfSubnet, vpcEndpointsOf, type SubnetSummary } from '../adapters/ec2-account.ts';
import { getInstanceProfile, rolePolicies, type IAMClient } from '../adapters/iam.ts';
import { attempt, failed, passed, type DoctorCheck } from './doctor-check.ts';
import type { DoctorInput } from './doctor-input.ts';

const managedCore = 'AmazonSSMManagedInstanceCore';

/** What the SSM agent calls to register and take Run Command (the heart of AmazonSSMManagedInstanceCore). */
export const ssmAgentActions = [
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
  'ec2messages:AcknowledgeMessage',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
] as const;

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
const wildcardMatches = (pattern: string, action: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    'i',
  ).test(action);

/** The actions of `wanted` some Allow statement of the documents names (conditions and resources aside). */
export function actionsAllowedBy(documents: readonly unknown[], wanted: readonly string[]): Set<string> {
  const allowed = new Set<string>();
  for (const document of documents) {
    for (const statement of asList((document as { Statement?: unknown } | undefined)?.Statement)) {
      const { Effect, Action } = statement as { Effect?: unknown; Action?: unknown };
      if (Effect !== 'Allow') continue;
      for (const pattern of asList(Action)) for (const action of wanted) if (typeof pattern === 'string' && wildcardMatches(pattern, action)) allowed.add(action);
    }
  }
  return allowed;
}

/** One instance profile, read with `iam` (the building account's, or a distribution account's through its role). */
export function checkProfile(iam: IAMClient, check: string, subject: string, profile: string): Promise<DoctorCheck[]> {
  return attempt(check, subject, async () => {
    const found = await getInstanceProfile(iam, profile);
    if (!found)
      return [
        failed(
          check,
          subject,
          'no such instance profile in this account',
          `create it with a role that has ${managedCore}: aws iam create-instance-profile --instance-profile-name ${profile}; aws iam add-role-to-instance-profile --instance-profile-name ${profile} --role-name <role>`,
        ),
      ];
    const role = found.roles[0];
    if (!role)
      return [
        failed(
          check,
          subject,
          'the profile has no role, so its instances have no credentials',
          `aws iam add-role-to-instance-profile --instance-profile-name ${profile} --role-name <a role with ${managedCore}>`,
        ),
      ];
    const policies = await rolePolicies(iam, role.name);
    if (policies.attached.some((policy) => policy.arn.endsWith(`:policy/${managedCore}`))) return [passed(check, subject, `role ${role.name} has ${managedCore}`)];
    const allowed = actionsAllowedBy(
      [...policies.attached, ...policies.inline].map((policy) => policy.document),
      ssmAgentActions,
    );
    const missing = ssmAgentActions.filter((action) => !allowed.has(action));
    if (missing.length === 0) return [passed(check, subject, `role ${role.name} allows what ${managedCore} does for the SSM agent (from its policy documents)`)];
    return [
      failed(
        check,
        subject,
        `role ${role.name} lacks ${missing.join(', ')}: the SSM agent cannot register`,
        `aws iam attach-role-policy --role-name ${role.name} --policy-arn arn:aws:iam::aws:policy/${managedCore}`,
      ),
    ];
  });
}

/** Every image's smoke instance profile in the building account: it exists, has a role, and that role lets the SSM agent work. */
export async function checkInstanceProfiles(input: DoctorInput): Promise<DoctorCheck[]> {
  const check = 'smoke instance profile';
  const lines: DoctorCheck[] = [];
  const profiles = new Map<string, string[]>();
  for (const image of input.images) {
    const profile = image.smoke.instanceProfile;
    if (!profile) {
      lines.push(
        failed(
          check,
          image.name,
          'no smoke.instanceProfile: the smoke instance cannot register with SSM, so Run Command never reaches it',
          `set smoke.instanceProfile (in pipeline/settings.ts or ${image.file}) to a profile whose role has ${managedCore}`,
        ),
      );
      continue;
    }
    profiles.set(profile, [...(profiles.get(profile) ?? []), image.name]);
  }
  for (const [profile, images] of profiles) lines.push(...(await checkProfile(input.iam, check, `${profile} (${images.join(', ')})`, profile)));
  return lines;
}

const ssmServices = ['ssm', 'ssmmessages', 'ec2messages'] as const;

/** How a subnet reaches SSM, or why it does not. */
async function reachOfSubnet(input: DoctorInput, region: string, subnet: SubnetSummary): Promise<{ readonly ok: boolean; readonly how: string }> {
  const ec2 = input.ec2(region);
  const endpoints = await vpcEndpointsOf(ec2, subnet.vpcId);
  const serviceHas = (service: string) => endpoints.some((endpoint) => endpoint.serviceName === `com.amazonaws.${region}.${service}` && endpoint.state === 'available' && endpoint.privateDns);
  if (ssmServices.every(serviceHas)) return { ok: true, how: `VPC endpoints for ${ssmServices.join(', ')} in ${subnet.vpcId}` };
  const routes = (await routesOfSubnet(ec2, subnet)).filter((route) => route.destination === '0.0.0.0/0');
  const natOrTransit = routes.find((route) => /^(nat|tgw)-/.test(route.target));
  if (natOrTransit) return { ok: true, how: `route 0.0.0.0/0 via ${natOrTransit.target}` };
  const internetGateway = routes.find((route) => route.target.startsWith('igw-'));
  if (internetGateway && subnet.mapPublicIpOnLaunch) return { ok: true, how: `route 0.0.0.0/0 via ${internetGateway.target}, public IPs on launch` };
  if (internetGateway) return { ok: false, how: `routes to ${internetGateway.target} but gives instances no public IP (MapPublicIpOnLaunch is off)` };
  const some = ssmServices.filter(serviceHas);
  return {
    ok: false,
    how: `no route 0.0.0.0/0 to a NAT or internet gateway, and ${some.length === 0 ? 'no' : `only ${some.join(', ')}`} VPC endpoints of ${ssmServices.join(', ')} (with private DNS)`,
  };
}

const reachFix = (region: string) =>
  `add interface VPC endpoints com.amazonaws.${region}.ssm, .ssmmessages and .ec2messages (private DNS on) to the VPC, or a route 0.0.0.0/0 to a NAT gateway (or an internet gateway, with public IPs on launch)`;

/** The smoke subnet of every image (or the default VPC's subnets, where EC2 launches without one) exists and reaches SSM; a build subnet exists. */
export async function checkSubnets(input: DoctorInput): Promise<DoctorCheck[]> {
  const check = 'subnet reaches SSM';
  const seen = new Map<string, { region: string; subnetId: string | undefined; role: 'smoke' | 'build'; images: string[] }>();
  for (const image of input.images) {
    for (const [role, subnetId] of [
      ['smoke', image.smoke.subnetId],
      ['build', image.buildInfrastructure.subnetId],
    ] as const) {
      if (role === 'build' && !subnetId) continue;
      const key = `${image.buildRegion} ${subnetId ?? ''} ${role}`;
      const use = seen.get(key) ?? { region: image.buildRegion, subnetId, role, images: [] };
      use.images.push(image.name);
      seen.set(key, use);
    }
  }
  const lines = await Promise.all(
    [...seen.values()].map(({ region, subnetId, role, images }) => {
      const subject = `${role} ${subnetId ?? 'default VPC'} in ${region} (${images.join(', ')})`;
      return attempt(role === 'build' ? 'build subnet exists' : check, subject, async () => {
        const ec2 = input.ec2(region);
        if (!subnetId) {
          const subnets = await defaultSubnets(ec2);
          if (subnets.length === 0)
            return [
              failed(
                check,
                subject,
                'no subnet is configured and the region has no default VPC, so EC2 cannot place the smoke instance',
                `set smoke.subnetId (pipeline/settings.ts or the image) to a subnet in ${region} that reaches SSM, or create a default VPC (aws ec2 create-default-vpc --region ${region})`,
              ),
            ];
          const reaches = await Promise.all(subnets.map(async (subnet) => ({ subnet, reach: await reachOfSubnet(input, region, subnet) })));
          const cut = reaches.filter((entry) => !entry.reach.ok);
          if (cut.length === 0) return [passed(check, subject, `${subnets.length} default subnets: ${reaches[0]?.reach.how}`)];
          return [failed(check, subject, `${cut.map((entry) => entry.subnet.subnetId).join(', ')}: ${cut[0]?.reach.how}`, reachFix(region))];
        }
        const subnet = await findSubnet(ec2, subnetId);
        if (!subnet)
          return [
            failed(
              role === 'build' ? 'build subnet exists' : check,
              subject,
              `no subnet ${subnetId} in ${region}`,
              `create it, or correct ${role === 'build' ? 'buildInfrastructure.subnetId' : 'smoke.subnetId'}`,
            ),
          ];
        if (role === 'build') return [passed('build subnet exists', subject, `in ${subnet.vpcId}`)];
        const reach = await reachOfSubnet(input, region, subnet);
        return [reach.ok ? passed(check, subject, reach.how) : failed(check, subject, reach.how, reachFix(region))];
      });
    }),
  );
  return lines.flat();
}
