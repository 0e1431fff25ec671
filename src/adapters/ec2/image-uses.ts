/**
 * Who may still launch an AMI without running it now: launch template versions, EC2 Fleets and Spot Fleet requests,
 * and what AWS itself records as using it (DescribeImageReferences). Retirement reads them before removing an AMI.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  paginateDescribeFleets,
  paginateDescribeImageReferences,
  paginateDescribeLaunchTemplates,
  paginateDescribeLaunchTemplateVersions,
  paginateDescribeSpotFleetRequests,
} from '@aws-sdk/client-ec2';
import { awsCall } from '../aws-call.ts';
import { chunk } from './client.ts';

export interface LaunchTemplateVersionSummary {
  readonly templateId: string;
  readonly templateName: string;
  readonly versionNumber: number;
  /** The AMI with `resolve:ssm:` aliases resolved where AWS resolves them; a literal `resolve:ssm:…` where it does not. */
  readonly imageId: string | undefined;
  readonly isDefault: boolean;
  readonly isLatest: boolean;
}

/**
 * Every version of every launch template in the region, not only `$Latest`
 * and `$Default`: an Auto Scaling group or a team's script may launch any
 * version by number.
 */
export async function describeAllLaunchTemplateVersions(ec2: EC2Client): Promise<LaunchTemplateVersionSummary[]> {
  return awsCall('describe', 'launch template versions', async () => {
    const summaries: LaunchTemplateVersionSummary[] = [];
    for await (const page of paginateDescribeLaunchTemplates({ client: ec2, pageSize: 200 }, {})) {
      for (const template of page.LaunchTemplates ?? []) {
        const versions = paginateDescribeLaunchTemplateVersions({ client: ec2, pageSize: 200 }, { LaunchTemplateId: template.LaunchTemplateId, ResolveAlias: true });
        for await (const versionPage of versions) {
          for (const version of versionPage.LaunchTemplateVersions ?? []) {
            summaries.push({
              templateId: template.LaunchTemplateId ?? '',
              templateName: template.LaunchTemplateName ?? template.LaunchTemplateId ?? '',
              versionNumber: version.VersionNumber ?? 0,
              imageId: version.LaunchTemplateData?.ImageId,
              isDefault: version.DefaultVersion ?? version.VersionNumber === template.DefaultVersionNumber,
              isLatest: version.VersionNumber === template.LatestVersionNumber,
            });
          }
        }
      }
    }
    return summaries;
  });
}

/** What an EC2 Fleet or a Spot Fleet request launches from: AMIs named outright, and launch templates (by ID or name, and version). */
export interface FleetLaunchUse {
  /** `EC2 Fleet fleet-…` or `Spot Fleet request sfr-…`. */
  readonly fleet: string;
  readonly images: readonly { readonly amiId: string; readonly via: string }[];
  readonly launchTemplates: readonly { readonly id: string | undefined; readonly name: string | undefined; readonly version: string | undefined }[];
}

/**
 * Every EC2 Fleet and Spot Fleet request that may still launch instances (not deleted, cancelled or failed): their
 * launch specifications, launch template overrides and launch templates. A fleet of type `maintain` replaces
 * instances from them at any time, so an AMI they name is in use even while no instance runs it.
 */
export async function describeFleetLaunchUses(ec2: EC2Client): Promise<FleetLaunchUse[]> {
  const uses: FleetLaunchUse[] = [];
  const templateOf = (specification: { LaunchTemplateId?: string | undefined; LaunchTemplateName?: string | undefined; Version?: string | undefined } | undefined) =>
    specification ? [{ id: specification.LaunchTemplateId, name: specification.LaunchTemplateName, version: specification.Version }] : [];
  await awsCall('describe', 'EC2 Fleets', async () => {
    for await (const page of paginateDescribeFleets({ client: ec2 }, {})) {
      for (const fleet of page.Fleets ?? []) {
        if (fleet.FleetState === 'deleted' || fleet.FleetState === 'failed') continue;
        const configs = fleet.LaunchTemplateConfigs ?? [];
        uses.push({
          fleet: `EC2 Fleet ${fleet.FleetId ?? '?'}`,
          images: configs.flatMap((config) => (config.Overrides ?? []).flatMap((override) => (override.ImageId ? [{ amiId: override.ImageId, via: 'launch template override' }] : []))),
          launchTemplates: configs.flatMap((config) => templateOf(config.LaunchTemplateSpecification)),
        });
      }
    }
  });
  await awsCall('describe', 'Spot Fleet requests', async () => {
    for await (const page of paginateDescribeSpotFleetRequests({ client: ec2 }, {})) {
      for (const request of page.SpotFleetRequestConfigs ?? []) {
        if (request.SpotFleetRequestState === 'cancelled' || request.SpotFleetRequestState === 'failed') continue;
        const config = request.SpotFleetRequestConfig;
        uses.push({
          fleet: `Spot Fleet request ${request.SpotFleetRequestId ?? '?'}`,
          images: (config?.LaunchSpecifications ?? []).flatMap((specification) => (specification.ImageId ? [{ amiId: specification.ImageId, via: 'launch specification' }] : [])),
          launchTemplates: (config?.LaunchTemplateConfigs ?? []).flatMap((templateConfig) => templateOf(templateConfig.LaunchTemplateSpecification)),
        });
      }
    }
  });
  return uses;
}

export interface ImageReferenceSummary {
  readonly amiId: string;
  /** ec2:Instance, ec2:LaunchTemplate, ssm:Parameter, imagebuilder:ImageRecipe, … */
  readonly resourceType: string;
  readonly arn: string;
}

/** DescribeImageReferences takes at most 10 ImageIds a call (EC2 model: DescribeImageReferencesImageIdStringList). */
const maxImageReferenceIds = 10;
/** A page size the call takes (EC2 model: MaxResults at least 5; the API reference gives 1000 as the most). */
const imageReferencePageSize = 1000;

/** What AWS itself knows uses each AMI (DescribeImageReferences, all resource types), 10 AMIs a call, every page. */
export async function describeImageReferences(ec2: EC2Client, amiIds: readonly string[]): Promise<ImageReferenceSummary[]> {
  const references: ImageReferenceSummary[] = [];
  for (const ids of chunk([...new Set(amiIds)], maxImageReferenceIds)) {
    await awsCall('describe image references of', ids.join(', '), async () => {
      for await (const page of paginateDescribeImageReferences({ client: ec2, pageSize: imageReferencePageSize }, { ImageIds: ids, IncludeAllResourceTypes: true })) {
        for (const reference of page.ImageReferences ?? []) references.push({ amiId: reference.ImageId ?? '', resourceType: reference.ResourceType ?? 'unknown', arn: reference.Arn ?? '' });
      }
    });
  }
  return references;
}
