/**
 * Which published versions to retire, per region, and why. Pure: what AWS
 * holds comes in as data.
 */
import semver from 'semver';
import { versionParameterName } from './parameter-names.ts';

export interface PublishedVersion {
  readonly version: string;
  /** AMI per region, from `<prefix>/<image>/versions/<version>`. */
  readonly amis: Readonly<Record<string, string>>;
}

export type RetirementAction =
  | { readonly action: 'retire'; readonly image: string; readonly version: string; readonly region: string; readonly amiId: string; readonly snapshotIds: readonly string[]; readonly parameterName: string; readonly reason: string }
  | { readonly action: 'keep'; readonly image: string; readonly version: string; readonly region: string; readonly amiId: string; readonly reason: string };

export interface RetirementInput {
  readonly image: string;
  readonly keep: number;
  readonly ssmPrefix: string;
  /** Every version with a `versions/<v>` parameter, including the one about to publish. */
  readonly versions: readonly PublishedVersion[];
  /** What `latest` points to per region (after this run's publish, when planning ahead). */
  readonly latest: Readonly<Record<string, string | undefined>>;
  /** AMIs gild tagged for this image, per region: amiId → snapshot IDs. Anything else is not gild's to delete. */
  readonly ownedAmis: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  /** Why an AMI is still in use (instances, launch templates), per amiId. */
  readonly usage: Readonly<Record<string, readonly string[]>>;
}

export function planRetirement(input: RetirementInput): RetirementAction[] {
  const ordered = [...input.versions].sort((a, b) => semver.rcompare(a.version, b.version));
  const actions: RetirementAction[] = [];
  for (const [index, published] of ordered.entries()) {
    if (index < input.keep) continue;
    for (const [region, amiId] of Object.entries(published.amis)) {
      const base = { image: input.image, version: published.version, region, amiId };
      const owned = input.ownedAmis[region]?.[amiId];
      const users = input.usage[amiId] ?? [];
      if (input.latest[region] === amiId) {
        actions.push({ action: 'keep', ...base, reason: `latest still points to it` });
      } else if (owned === undefined) {
        actions.push({ action: 'keep', ...base, reason: `it is not tagged gild:image=${input.image}, so gild did not make it and will not delete it` });
      } else if (users.length > 0) {
        actions.push({ action: 'keep', ...base, reason: `still in use by ${users.join(', ')}` });
      } else {
        actions.push({
          action: 'retire',
          ...base,
          snapshotIds: owned,
          parameterName: versionParameterName(input.ssmPrefix, input.image, published.version),
          reason: `older than the newest ${input.keep} version${input.keep === 1 ? '' : 's'} (retention keeps ${input.keep})`,
        });
      }
    }
  }
  return actions;
}
