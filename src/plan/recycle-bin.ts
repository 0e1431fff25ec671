/**
 * What the account's Recycle Bin retention rules mean for gild's AMIs, pure: whether a deregistered AMI (and its
 * deleted snapshots) will be kept for a while, so that `gild restore` can bring it back, or whether deregistration
 * is final. Read by retirement's plan (a note on each deregister step), `gild status` and `gild doctor`.
 *
 * AWS's rules: a retention rule keeps resources of one type (`EC2_IMAGE`, `EBS_SNAPSHOT`) for its retention period
 * after they are deleted; a tag-level rule only those carrying one of its tags (a tag without value: any value of the
 * key); a region-level rule (no tags) every one; only a rule in the `available` state keeps anything. An AMI in the bin
 * can be restored only with its snapshots, which only an `EBS_SNAPSHOT` rule keeps.
 */
import type { RetainedResource, RetentionRule } from '../adapters/rbin.ts';

/** A region's retention rules for AMIs and snapshots, or why they were not read (no Recycle Bin, a refusal). */
export type RecycleBinSight = { readonly rules: readonly RetentionRule[] } | { readonly unknown: string };

/** The available rule that keeps a resource with these tags longest, or undefined when none keeps it. */
export function ruleKeeping(rules: readonly RetentionRule[], resourceType: RetainedResource, tags: Readonly<Record<string, string>>): RetentionRule | undefined {
  return rules
    .filter((rule) => rule.available && rule.resourceType === resourceType)
    .filter((rule) => rule.resourceTags.length === 0 || rule.resourceTags.some((tag) => Object.hasOwn(tags, tag.key) && (tag.value === undefined || tags[tag.key] === tag.value)))
    .sort((a, b) => b.retentionDays - a.retentionDays || a.id.localeCompare(b.id))[0];
}

/** `14 days by rule abc (region-level; …)`: how long, and which rule. */
function describeRule(rule: RetentionRule): string {
  const scope =
    rule.resourceTags.length === 0
      ? 'region-level; its exclusion tags are not read'
      : `tag-level: ${rule.resourceTags.map((tag) => (tag.value === undefined ? tag.key : `${tag.key}=${tag.value}`)).join(' or ')}`;
  return `${rule.retentionDays} days by rule ${rule.id} (${scope})`;
}

export type BinVerdict =
  /** Both the AMI and its snapshots are kept: `gild restore` can bring the version back until `days` after. */
  | { readonly kind: 'kept'; readonly days: number; readonly rules: string; readonly text: string }
  /** The AMI is kept but its snapshots are not (or the reverse): nothing usable can be brought back. */
  | { readonly kind: 'partly'; readonly text: string }
  | { readonly kind: 'final'; readonly text: string }
  | { readonly kind: 'unknown'; readonly text: string };

/** `<how long> (<by which rules>): gild restore can bring it back until then`, for one image or a region's images. */
export function keptText(howLong: string, rules: string): string {
  return `${howLong} (${rules}): \`gild restore\` can bring it back until then`;
}

/** What the Recycle Bin will do with an AMI carrying `tags` (its snapshots carry the same) once it is deregistered. */
export function binVerdict(sight: RecycleBinSight, tags: Readonly<Record<string, string>>): BinVerdict {
  if ('unknown' in sight) return { kind: 'unknown', text: `whether a Recycle Bin rule keeps it is not known: ${sight.unknown}` };
  const image = ruleKeeping(sight.rules, 'EC2_IMAGE', tags);
  const snapshots = ruleKeeping(sight.rules, 'EBS_SNAPSHOT', tags);
  if (image && snapshots) {
    const days = Math.min(image.retentionDays, snapshots.retentionDays);
    const rules = `the AMI ${describeRule(image)}; its snapshots ${describeRule(snapshots)}`;
    return { kind: 'kept', days, rules, text: keptText(`the Recycle Bin keeps it ${days} days`, rules) };
  }
  if (image)
    return {
      kind: 'partly',
      text: `the Recycle Bin keeps the AMI ${describeRule(image)} but no EBS_SNAPSHOT rule keeps its snapshots, which retirement deletes: it could not be brought back usable`,
    };
  if (snapshots) return { kind: 'partly', text: `the Recycle Bin keeps its snapshots ${describeRule(snapshots)} but no EC2_IMAGE rule keeps the AMI: deregistration is final` };
  return { kind: 'final', text: 'no Recycle Bin retention rule keeps it: deregistration is final' };
}
