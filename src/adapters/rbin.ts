/**
 * Recycle Bin (`rbin`), read only: the account's retention rules, which decide whether a deregistered AMI (or a deleted
 * snapshot) is kept for a while and can be brought back (`RestoreImageFromRecycleBin`, an EC2 call: see
 * ec2-image-lifecycle.ts). `gild doctor` and `gild status` say whether a rule keeps gild's AMIs; retirement says in
 * its plan when one will keep what it deregisters; `gild restore` relies on them to bring a version back.
 *
 * moto has no Recycle Bin (/work/shared/EMULATOR.md): this is proven at the seam with the AWS model checks
 * (test/unit/rbin.test.ts) and reached only where the target profile says the account has one.
 *
 * NOTE: the registry offers @aws-sdk/client-rbin only up to 3.523.0, older than the other clients; its models predate
 * region-level rules' exclusion tags (`ExcludeResourceTags`), which this client drops from GetRule's answer. A rule
 * that excludes gild's AMIs by tag is therefore taken as keeping them, and every message that relies on a region-level
 * rule says so (`excludeTagsUnread`).
 */
import { GetRuleCommand, RbinClient, paginateListRules } from '@aws-sdk/client-rbin';
import { awsCall } from './aws-call.ts';
import { awsClientConfig, nameActionOnErrors } from './aws-client-config.ts';

export type { RbinClient };

/** Endpoint: `AWS_ENDPOINT_URL_RBIN`, else `AWS_ENDPOINT_URL` (the older client does not read them itself). */
export function createRbinClient(region: string, env: Readonly<Record<string, string | undefined>>): RbinClient {
  // NOTE: the cast: this older client's middleware stack is typed by its own (older) @smithy/types, which the
  // middleware helpers' signature does not name; the stack itself works the same (test/unit/rbin.test.ts goes through it).
  return nameActionOnErrors(new RbinClient(awsClientConfig(region, env.AWS_ENDPOINT_URL_RBIN ?? env.AWS_ENDPOINT_URL, env)) as never, 'rbin') as RbinClient;
}

/** The kinds of resource a retention rule keeps that gild's retirement removes. */
export type RetainedResource = 'EC2_IMAGE' | 'EBS_SNAPSHOT';

export interface RetentionRule {
  readonly id: string;
  readonly description: string | undefined;
  readonly resourceType: RetainedResource;
  /** How long a deleted resource stays in the bin (AWS counts only days). */
  readonly retentionDays: number;
  /**
   * A tag-level rule keeps only resources carrying one of these tags (no value: any value of the key); an empty list
   * is a region-level rule, which keeps every resource of its type.
   */
  readonly resourceTags: readonly { readonly key: string; readonly value: string | undefined }[];
  /** Only an `available` rule keeps anything; a `pending` one does not yet. */
  readonly available: boolean;
  /** `locked`, `pending_unlock`, `unlocked`, or undefined (never locked). */
  readonly lockState: string | undefined;
}

/**
 * Every retention rule of the region for `resourceType`. ListRules' summaries carry neither the rule's tags nor its
 * status, so each rule is read with GetRule (an account has a handful of rules; AWS allows 250 per region).
 */
export async function listRetentionRules(rbin: RbinClient, resourceType: RetainedResource): Promise<RetentionRule[]> {
  return awsCall('list Recycle Bin retention rules', resourceType, async () => {
    const identifiers: string[] = [];
    for await (const page of paginateListRules({ client: rbin, pageSize: 100 }, { ResourceType: resourceType })) {
      for (const rule of page.Rules ?? []) if (rule.Identifier) identifiers.push(rule.Identifier);
    }
    const rules: RetentionRule[] = [];
    for (const identifier of identifiers) {
      const rule = await rbin.send(new GetRuleCommand({ Identifier: identifier }));
      rules.push({
        id: identifier,
        description: rule.Description || undefined,
        resourceType,
        retentionDays: rule.RetentionPeriod?.RetentionPeriodValue ?? 0,
        resourceTags: (rule.ResourceTags ?? []).flatMap((tag) => (tag.ResourceTagKey ? [{ key: tag.ResourceTagKey, value: tag.ResourceTagValue || undefined }] : [])),
        available: rule.Status === 'available',
        lockState: rule.LockState,
      });
    }
    return rules;
  });
}

/** Every retention rule of the region that can keep what retirement removes: the AMIs' and the snapshots'. */
export async function readRetentionRules(rbin: RbinClient): Promise<RetentionRule[]> {
  const [images, snapshots] = await Promise.all([listRetentionRules(rbin, 'EC2_IMAGE'), listRetentionRules(rbin, 'EBS_SNAPSHOT')]);
  return [...images, ...snapshots];
}
