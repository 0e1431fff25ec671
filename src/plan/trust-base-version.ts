/**
 * Whether a published version of a gild image may be built on, from what AWS says about it now. A CI job applying its
 * slice of a shared plan builds on a base version another job publishes (or published hours ago, when the job is a
 * late runner or a re-run): the saved plan only says which version that is meant to be, never that it is still good.
 * `versions/<v>` existing is not enough: a revoke keeps it (the version stays restorable), and a parameter can be
 * hand-written. So the version's status parameter and the AMI's own gild tags are asked too. Pure: the reads are
 * src/stages/read-base-version.ts.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory } from '../observe/inventory.ts';
import { imageState, revocationOf } from './image-state.ts';
import type { ImageDecision } from './run-plan.ts';
import { parseVersionStatus } from './version-status.ts';

export interface BaseVersionEvidence {
  readonly image: string;
  readonly version: string;
  readonly region: string;
  /** `versions/<v>`'s name and value in `region` (the AMI ID), or undefined when it does not exist. */
  readonly parameterName: string;
  readonly amiId: string | undefined;
  /** `status/<v>`'s raw value in `region`, when it exists. */
  readonly status: string | undefined;
  /** The tags of the AMI `versions/<v>` names, or undefined when no such AMI exists any more. */
  readonly amiTags: Readonly<Record<string, string>> | undefined;
}

/** `gild:status` values that say an AMI must not be built on: it failed, was revoked, or is being retired. */
const untrustedStatuses = new Set(['failed', 'revoked', 'retiring']);

/** Why the version must not be built on (a sentence naming the parameter or AMI that says so), or undefined when it may. */
export function whyNotABase(evidence: BaseVersionEvidence): string | undefined {
  const what = `base image "${evidence.image}" ${evidence.version}`;
  if (evidence.amiId === undefined) return `${what} is not published in ${evidence.region} (${evidence.parameterName} does not exist)`;
  const revoked = parseVersionStatus(evidence.status).revoked;
  if (revoked)
    return `${what} was revoked (${revoked.reason}; by ${revoked.by} at ${revoked.at}${revoked.replacement ? `, in favour of ${revoked.replacement}` : ''}), as its status parameter in ${evidence.region} says`;
  const tags = evidence.amiTags;
  if (tags === undefined) return `${what}: ${evidence.parameterName} in ${evidence.region} names ${evidence.amiId}, which no longer exists`;
  if (tags['gild:image'] !== evidence.image || tags['gild:version'] !== evidence.version) {
    return `${what}: ${evidence.parameterName} in ${evidence.region} names ${evidence.amiId}, which is not gild's ${evidence.image} ${evidence.version} (it is tagged gild:image=${tags['gild:image'] ?? '(none)'}, gild:version=${tags['gild:version'] ?? '(none)'})`;
  }
  const status = tags['gild:status'];
  if (status !== undefined && untrustedStatuses.has(status)) {
    const why = tags['gild:revoked-reason'] ?? tags['gild:failure'];
    return `${what}: its AMI ${evidence.amiId} in ${evidence.region} is tagged gild:status=${status}${why ? ` (${why})` : ''}`;
  }
  return undefined;
}

/**
 * A saved plan's word about an image another CI job builds (`decidedElsewhere`: "base will be 1.0.0") is checked
 * against what the job observed now: a version revoked since the plan was made (the ledger, a status parameter or
 * an AMI's tags say so, in any region observed) is no base for this job's images. One problem per such base, naming
 * the images of this job that would have been built on it.
 */
export function revokedDecidedElsewhere(decisions: readonly ImageDecision[], inventory: Inventory, images: readonly Pick<ResolvedImage, 'name' | 'dependsOn'>[]): string[] {
  return decisions.flatMap((decision) => {
    if (decision.action !== 'build' && decision.action !== 'resume') return [];
    const dependants = images.filter((image) => image.dependsOn.includes(decision.image)).map((image) => image.name);
    if (dependants.length === 0) return [];
    const state = imageState(inventory, decision.image, Object.keys(inventory.regions));
    const revoked =
      revocationOf(state, decision.nextVersion) ??
      Object.values(state.statuses)
        .map((statuses) => statuses[decision.nextVersion]?.revoked)
        .find((revocation) => revocation !== undefined);
    if (!revoked) return [];
    return [
      `${dependants.join(', ')}: the plan has another job build base image "${decision.image}" ${decision.nextVersion}, which was revoked since the plan was made (${revoked.reason}; by ${revoked.by} at ${revoked.at}). Nothing is built on it; make a new plan`,
    ];
  });
}
