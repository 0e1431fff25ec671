/**
 * What to share: per region, the AMI and its snapshots with exactly whom the definition says, after the smoke test
 * passed and before publishing.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeGrantees, expectedLaunchPermissions, expectedVolumePermissions } from './plan-sharing.ts';
import type { AmiSource, PlanStep } from './run-plan.ts';

/**
 * One step per region that shares the AMI and its snapshots as the definition says, only once its smoke test
 * passed (so a failing image is never visible outside the account) and before publishing (so whoever a pointer
 * tells about it can launch it). None for a private image: nothing to grant.
 */
export function shareSteps(
  image: ResolvedImage,
  version: string,
  amis: AmiSource,
  after: readonly string[],
  /** When, and why then, in words that begin the step's reason. */
  when = 'after the smoke test',
): Extract<PlanStep, { kind: 'share' }>[] {
  const launchPermissions = expectedLaunchPermissions(image);
  const grantees = image.launchPermissions.kind === 'public' ? [`everyone (public: ${image.launchPermissions.reason})`] : describeGrantees(launchPermissions);
  const sharing =
    grantees.length === 0 ? 'the image stays private: any grant on the AMI or its snapshots is removed' : `share with ${grantees.join(', ')}; any other grant on the AMI or its snapshots is removed`;
  return image.regions.map((region) => ({
    id: `share:${image.name}:${region}`,
    kind: 'share',
    image: image.name,
    version,
    region,
    amis,
    launchPermissions,
    volumePermissions: expectedVolumePermissions(image),
    description: image.description,
    after: [...after],
    reason: `${when}, set the description and ${sharing}`,
    precondition: `the AMI in ${region} is still tagged gild:image=${image.name} and gild:version=${version}, and available`,
  }));
}
