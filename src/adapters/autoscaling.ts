/**
 * The Auto Scaling adapter, read by the reference check: groups (their launch
 * template and version, and the launch templates of a mixed-instances
 * policy's overrides) and launch configurations (their AMI). Pagination lives
 * here.
 */
import type { AutoScalingClient, AutoScalingClientConfig, LaunchTemplateSpecification } from '@aws-sdk/client-auto-scaling';
import { awsCall } from './aws-call.ts';
import { AutoScalingClient as AutoScalingSdkClient, paginateDescribeAutoScalingGroups, paginateDescribeLaunchConfigurations } from '@aws-sdk/client-auto-scaling';

// NOTE: the same retry policy as createAwsClients (adaptive, 8 attempts). Imported, not loaded on first use as
// before the engine was bundled: the two commands gild uses are 36 KB of the bundle, a few milliseconds to compile,
// where a dynamic import would make every caller of `autoscaling(region)` asynchronous.
const maxAttempts = 8;

// NOTE: the client's type, re-exported so that code above the adapters names it without importing the SDK.
export type { AutoScalingClient };

export interface AutoScalingClients {
  autoscaling(region: string): AutoScalingClient;
  destroy(): void;
}

/** One Auto Scaling client per region, with the same credentials and endpoint override as the EC2 and SSM clients. */
export function createAutoScalingClients(env: Readonly<Record<string, string | undefined>>, assumed?: AutoScalingClientConfig['credentials']): AutoScalingClients {
  const endpoint = env.AWS_ENDPOINT_URL_AUTO_SCALING ?? env.AWS_ENDPOINT_URL;
  // `assumed`: another account's role (sts.ts) instead of the environment's credentials.
  const credentials =
    assumed ??
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined);
  const clients = new Map<string, AutoScalingClient>();
  return {
    autoscaling(region) {
      let client = clients.get(region);
      if (!client) clients.set(region, (client = new AutoScalingSdkClient({ region, maxAttempts, retryMode: 'adaptive', ...(credentials ? { credentials } : {}), ...(endpoint ? { endpoint } : {}) })));
      return client;
    },
    destroy() {
      for (const client of clients.values()) client.destroy();
    },
  };
}

/** A launch template as a group names it: by ID or name, and a version (a number, `$Latest` or `$Default`; unset means `$Default`). */
export interface LaunchTemplateUse {
  readonly id: string | undefined;
  readonly name: string | undefined;
  readonly version: string;
  /** Where in the group: `launch template`, or `mixed instances policy` (its template or an override's). */
  readonly via: string;
}

export interface AutoScalingGroupSummary {
  readonly name: string;
  readonly launchConfigurationName: string | undefined;
  readonly launchTemplates: readonly LaunchTemplateUse[];
}

function toUse(specification: LaunchTemplateSpecification | undefined, via: string): LaunchTemplateUse[] {
  if (!specification || (!specification.LaunchTemplateId && !specification.LaunchTemplateName)) return [];
  return [{ id: specification.LaunchTemplateId, name: specification.LaunchTemplateName, version: specification.Version ?? '$Default', via }];
}

export async function describeAutoScalingGroups(autoscaling: AutoScalingClient): Promise<AutoScalingGroupSummary[]> {
  return awsCall('describe', 'auto scaling groups', async () => {
    const groups: AutoScalingGroupSummary[] = [];
    for await (const page of paginateDescribeAutoScalingGroups({ client: autoscaling, pageSize: 100 }, {})) {
      for (const group of page.AutoScalingGroups ?? []) {
        const mixed = group.MixedInstancesPolicy?.LaunchTemplate;
        groups.push({
          name: group.AutoScalingGroupName ?? '',
          launchConfigurationName: group.LaunchConfigurationName,
          launchTemplates: [
            ...toUse(group.LaunchTemplate, 'launch template'),
            ...toUse(mixed?.LaunchTemplateSpecification, 'mixed instances policy'),
            ...(mixed?.Overrides ?? []).flatMap((override) => toUse(override.LaunchTemplateSpecification, `mixed instances override ${override.InstanceType ?? ''}`.trim())),
          ],
        });
      }
    }
    return groups;
  });
}

export interface LaunchConfigurationSummary {
  readonly name: string;
  readonly imageId: string;
}

export async function describeLaunchConfigurations(autoscaling: AutoScalingClient): Promise<LaunchConfigurationSummary[]> {
  return awsCall('describe', 'launch configurations', async () => {
    const configurations: LaunchConfigurationSummary[] = [];
    for await (const page of paginateDescribeLaunchConfigurations({ client: autoscaling, pageSize: 100 }, {})) {
      for (const configuration of page.LaunchConfigurations ?? []) configurations.push({ name: configuration.LaunchConfigurationName ?? '', imageId: configuration.ImageId ?? '' });
    }
    return configurations;
  });
}
