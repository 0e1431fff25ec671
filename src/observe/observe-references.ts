/**
 * Who uses an AMI, as far as gild can see, asked right before anything
 * destructive: one batched scan per region however many AMIs are asked about.
 * A use found keeps the AMI ("kept: in use by …"); it is never an error.
 *
 * What is looked at: instances in any state but terminated; every version of
 * every launch template (with `resolve:ssm:` aliases resolved); Auto Scaling
 * groups (their launch template version, `$Latest`/`$Default` included, and
 * mixed-instances overrides) and launch configurations; EC2 Fleets and Spot
 * Fleet requests (launch specifications, overrides and their launch templates);
 * SSM parameters that are not gild's own (outside its prefix, or another
 * pipeline's nested below it) whose value is the AMI; and, where AWS offers it,
 * DescribeImageReferences.
 */
import { describeAutoScalingGroups, describeLaunchConfigurations, type AutoScalingClient, type LaunchTemplateUse } from '../adapters/autoscaling.ts';
import {
  describeAllLaunchTemplateVersions,
  describeFleetLaunchUses,
  describeImageReferences,
  describeInstancesUsingImages,
  type EC2Client,
  type LaunchTemplateVersionSummary,
} from '../adapters/ec2.ts';
import { describeParameterNames, getParameters, type SSMClient } from '../adapters/ssm.ts';
import { isOwnParameterName } from '../plan/parameter-names.ts';

export interface ReferenceClients {
  ec2(region: string): EC2Client;
  ssm(region: string): SSMClient;
  autoscaling(region: string): AutoScalingClient;
}

/** What the account's API offers; decided by the caller (real AWS: both true), never by sniffing for an emulator here. */
export interface ReferenceCapabilities {
  /** DescribeParameters takes the `DataType` filter, so only `aws:ec2:image` parameters need reading. */
  readonly parameterDataTypeFilter: boolean;
  /** DescribeImageReferences exists. */
  readonly imageReferences: boolean;
}

export interface ReferenceOptions {
  /** gild's own parameters (pointers, versions) are not uses: retirement weighs them itself. */
  readonly ssmPrefix: string;
  readonly capabilities: ReferenceCapabilities;
}

const aliasPrefix = 'resolve:ssm:';

/** `resolve:ssm:/apps/web/ami` or `resolve:ssm:/apps/web/ami:3` → the parameter selector GetParameters takes. */
const aliasParameter = (imageId: string) => imageId.slice(aliasPrefix.length);

/** amiId → who uses it, in words (`instance i-123 (stopped)`, `launch template web v3`, …); every asked AMI is a key. */
export async function observeReferences(clients: ReferenceClients, region: string, amiIds: readonly string[], options: ReferenceOptions): Promise<Record<string, string[]>> {
  const users: Record<string, string[]> = Object.fromEntries(amiIds.map((amiId) => [amiId, []]));
  if (amiIds.length === 0) return users;
  const add = (amiId: string | undefined, user: string) => {
    const list = amiId === undefined ? undefined : users[amiId];
    if (list && !list.includes(user)) list.push(user);
  };
  const ec2 = clients.ec2(region);
  const ssm = clients.ssm(region);
  const autoscaling = clients.autoscaling(region);

  const [instances, templateVersions, groups, launchConfigurations, parameters, imageReferences, fleets] = await Promise.all([
    describeInstancesUsingImages(ec2, amiIds),
    describeAllLaunchTemplateVersions(ec2),
    describeAutoScalingGroups(autoscaling),
    describeLaunchConfigurations(autoscaling),
    readOtherParameters(ssm, options),
    options.capabilities.imageReferences ? describeImageReferences(ec2, amiIds) : Promise.resolve([]),
    describeFleetLaunchUses(ec2),
  ]);

  for (const instance of instances) add(instance.imageId, `instance ${instance.instanceId} (${instance.state})`);

  // NOTE: AWS resolves aliases with ResolveAlias; where a literal `resolve:ssm:` comes back anyway, read the parameter.
  const unresolved = [...new Set(templateVersions.flatMap((version) => (version.imageId?.startsWith(aliasPrefix) ? [aliasParameter(version.imageId)] : [])))];
  const aliasValues = new Map((await getParameters(ssm, unresolved)).map((parameter) => [parameter.name, parameter.value]));
  const imageOf = (version: LaunchTemplateVersionSummary) => {
    if (!version.imageId?.startsWith(aliasPrefix)) return version.imageId;
    const selector = aliasParameter(version.imageId);
    return aliasValues.get(selector) ?? aliasValues.get(selector.replace(/:[^:/]+$/, ''));
  };
  for (const version of templateVersions) {
    const alias = version.imageId?.startsWith(aliasPrefix) ? ` (${version.imageId})` : '';
    add(imageOf(version), `launch template ${version.templateName} v${version.versionNumber}${alias}`);
  }

  const versionUsed = (use: LaunchTemplateUse) =>
    templateVersions.find(
      (version) =>
        (use.id ? version.templateId === use.id : version.templateName === use.name) &&
        (use.version === '$Latest' ? version.isLatest : use.version === '$Default' ? version.isDefault : String(version.versionNumber) === use.version),
    );
  const configurationImages = new Map(launchConfigurations.map((configuration) => [configuration.name, configuration.imageId]));
  for (const group of groups) {
    if (group.launchConfigurationName) add(configurationImages.get(group.launchConfigurationName), `auto scaling group ${group.name} (launch configuration ${group.launchConfigurationName})`);
    for (const use of group.launchTemplates) {
      const version = versionUsed(use);
      if (!version) continue;
      const shownVersion = use.version.startsWith('$') ? `${use.version} = v${version.versionNumber}` : `v${version.versionNumber}`;
      const via = use.via === 'launch template' ? '' : `, ${use.via}`;
      add(imageOf(version), `auto scaling group ${group.name} (launch template ${version.templateName} ${shownVersion}${via})`);
    }
  }
  for (const configuration of launchConfigurations) add(configuration.imageId, `launch configuration ${configuration.name}`);

  for (const fleet of fleets) {
    for (const image of fleet.images) add(image.amiId, `${fleet.fleet} (${image.via})`);
    for (const template of fleet.launchTemplates) {
      // A fleet's launch template without a version launches its default version.
      const version = versionUsed({ id: template.id, name: template.name ?? '', version: template.version ?? '$Default', via: 'launch template' });
      if (version) add(imageOf(version), `${fleet.fleet} (launch template ${version.templateName} v${version.versionNumber})`);
    }
  }

  for (const parameter of parameters) add(parameter.value, `parameter ${parameter.name}`);

  for (const reference of imageReferences) {
    // Instances and launch templates were found above; say each use once.
    const resourceId = reference.arn.split(/[/:]/).at(-1) ?? reference.arn;
    if (resourceId && (users[reference.amiId] ?? []).some((user) => user.includes(resourceId))) continue;
    add(reference.amiId, `${reference.resourceType} ${reference.arn}`);
  }
  return users;
}

/**
 * Parameters that are not gild's own, with their values: only `aws:ec2:image` ones where the filter is offered. gild's
 * own are the names it writes under the prefix (isOwnParameterName); another gild pipeline's nested below the prefix
 * (`/golden/staging/web/latest` under `/golden`) are uses like any other parameter's.
 */
async function readOtherParameters(ssm: SSMClient, options: ReferenceOptions) {
  const names = await describeParameterNames(ssm, { imagesOnly: options.capabilities.parameterDataTypeFilter });
  return getParameters(
    ssm,
    names.filter((name) => !isOwnParameterName(options.ssmPrefix, name)),
  );
}
