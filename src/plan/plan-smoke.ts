/**
 * What the smoke test is, and what happens if it fails: the smoke step of the version this run builds or resumes,
 * and one `discard` step per region that removes (or keeps, withdrawn) the AMI it tested, only if it fails.
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

/**
 * One step per region that removes the AMI the smoke test tested, if that test fails (and only then: the runner reads
 * the row's `runsWhen`): nothing destructive happens outside the plan, and this removal is checked like any other.
 */
export function discardSteps(image: ResolvedImage, version: string, producerId: string, smokeStepId: string): Extract<PlanStep, { kind: 'discard' }>[] {
  const keep = image.smoke.onFailure === 'keep';
  return image.regions.map((region) => ({
    id: `discard:${image.name}:${region}`,
    kind: 'discard',
    image: image.name,
    version,
    region,
    amis: { from: producerId },
    onFailure: image.smoke.onFailure,
    after: [smokeStepId],
    reason: keep
      ? 'a failing image is never shared; smoke.onFailure is "keep", so it stays unpublished, marked failed, for keepFailedDays'
      : 'a failing image is never published, so nothing would ever use it (smoke.onFailure is "deregister")',
    precondition: `the AMI in ${region} is still tagged gild:image=${image.name}, gild:version=${version} and gild:status=failed${keep ? '' : ', no parameter names it and nothing uses it'}`,
  }));
}

/** An earlier run's build of exactly what would be built now, in every region, that nothing published. */
