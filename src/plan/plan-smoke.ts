/**
 * What the smoke test is, and what happens if it fails: the smoke step of the version this run builds or resumes
 * (with `smoke.regions: 'all'`, one more per other region, on the AMI there), and one `discard` step per region that
 * removes (or keeps, withdrawn) the AMI it tested, only if a smoke test fails.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { PlanStep } from './run-plan.ts';

export function smokeStep(image: ResolvedImage, version: string, producerId: string, previousVersion: string | undefined): Extract<PlanStep, { kind: 'smoke' }> {
  return {
    id: `smoke:${image.name}`,
    kind: 'smoke',
    image: image.name,
    version,
    amis: { from: producerId },
    previousVersion,
    after: [producerId],
    reason:
      (image.smoke.checks.length > 0 || image.smoke.packageManifest
        ? `a failing image is never published: ${image.smoke.checks.length} check${image.smoke.checks.length === 1 ? '' : 's'} on ${image.smoke.instanceTypes.join(', ')}`
        : "no smoke checks are defined: only gild's built-in new-machine checks run (when generalized); if none verifies anything, the AMIs are tagged untested, never tested") +
      whereLaunched(image) +
      windowsKeyPairNote(image),
    precondition: 'the AMIs still exist',
  };
}

/** A generalized Windows image's instances launch with a key pair gild makes for the smoke test (src/smoke/launch-instances.ts). */
function windowsKeyPairNote(image: ResolvedImage): string {
  return image.platform === 'windows' && image.generalize.kind !== 'off'
    ? '; launched with a temporary key pair (gild_<run>-smoke_<image>, deleted when the smoke test ends) whose private key decrypts the new Administrator password'
    : '';
}

/** Said in the plan: where the image is launched, and what is published without being launched. */
function whereLaunched(image: ResolvedImage): string {
  if (image.copyRegions.length === 0) return '';
  return image.smoke.regions === 'all'
    ? `; launched in ${image.buildRegion} first, then in ${image.copyRegions.join(', ')} (smoke.regions is "all")`
    : `; launched in ${image.buildRegion} only: ${image.copyRegions.join(', ')} ${image.copyRegions.length === 1 ? 'gets its copy' : 'get their copies'} published without launching (smoke.regions: "all" launches them too)`;
}

/**
 * `smoke.regions: 'all'`: the same test on every other region's AMI, in parallel, each after the build region's test
 * passed (with gild's copies the copy is finished only then anyway; with Packer's, a verdict tagged on every region
 * by the build region's test cannot then land after another region's failure), and before anything is shared or
 * published. There the instance launches in the region's default VPC and security group: `smoke.subnetId` and
 * `securityGroupIds` are the build region's (IDs are regional); the instance profile is global.
 */
export function regionSmokeSteps(image: ResolvedImage, version: string, producerId: string, buildSmokeId: string): Extract<PlanStep, { kind: 'smoke' }>[] {
  if (image.smoke.regions !== 'all') return [];
  return image.copyRegions.map((region) => ({
    id: `smoke:${image.name}:${region}`,
    kind: 'smoke',
    image: image.name,
    version,
    amis: { from: producerId },
    previousVersion: undefined,
    region,
    after: [buildSmokeId],
    reason: `smoke.regions is "all": what is published in ${region} is launched there too before anything is published${
      image.smoke.subnetId || image.smoke.securityGroupIds.length > 0 ? ` (in the region's default VPC: smoke.subnetId and securityGroupIds are ${image.buildRegion}'s)` : ''
    }; a failure there fails the image in every region`,
    precondition: `the AMI in ${region} still exists and the version is not marked failed`,
  }));
}

/**
 * One step per region that removes the AMI the smoke test tested, if that test fails (and only then: the runner reads
 * the row's `runsWhen`): nothing destructive happens outside the plan, and this removal is checked like any other.
 */
export function discardSteps(image: ResolvedImage, version: string, producerId: string, smokeStepIds: readonly string[]): Extract<PlanStep, { kind: 'discard' }>[] {
  const keep = image.smoke.onFailure === 'keep';
  return image.regions.map((region) => ({
    id: `discard:${image.name}:${region}`,
    kind: 'discard',
    image: image.name,
    version,
    region,
    amis: { from: producerId },
    onFailure: image.smoke.onFailure,
    after: [...smokeStepIds],
    reason: keep
      ? 'a failing image is never shared; smoke.onFailure is "keep", so it stays unpublished, marked failed, for keepFailedDays'
      : 'a failing image is never published, so nothing would ever use it (smoke.onFailure is "deregister")',
    precondition: `the AMI in ${region} is still tagged gild:image=${image.name}, gild:version=${version} and gild:status=failed${keep ? '' : ', no parameter names it and nothing uses it'}`,
  }));
}

/** An earlier run's build of exactly what would be built now, in every region, that nothing published. */
