/**
 * What to build, or resume: the base the build starts from, whether there is a reason to build at all, and whether an
 * earlier run's unpublished build of exactly that (same version, fingerprint and base) can be carried on instead.
 * Pure: the image's observed state and the run's inputs in, decisions out.
 */
import { hasEveryRegionToResume, type RegionCopies } from './plan-region-copies.ts';
import semver from 'semver';
import { describeGeneralizeChoice } from '../definition/describe-generalize.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { compareCodeUnits } from '../compare-names.ts';
import type { Inventory } from '../observe/inventory.ts';
import { findAmi, imageState, revocationOf, usedVersions, type ImageState, type UnpublishedBuild } from './image-state.ts';
import { amiById } from './inventory-slices.ts';
import type { BuildBase, ImageDecision, PlanStep } from './run-plan.ts';

const DAY_MS = 86_400_000;

/** Built and never failed: `untested` is a smoke test that ran no check (src/stages/smoke.ts). */
export const resumableStatuses = new Set(['candidate', 'tested', 'untested']);

/** What resolving a base reads: the observed bases and states, and the images of this run. */
export interface BaseInput {
  readonly inventory: Inventory;
  readonly images: readonly ResolvedImage[];
}

/** What deciding whether to build reads besides the image's state. */
export interface BuildReasonInput {
  readonly inventory: Inventory;
  readonly now: Date;
  readonly force: boolean;
  readonly settings: { readonly rebuildAfterDays: number | undefined };
}

export type ResolvedBase = { readonly base: BuildBase } | { readonly error: string };

export function resolveBase(input: BaseInput, image: ResolvedImage, decided: ReadonlyMap<string, ImageDecision>): ResolvedBase {
  const observed = input.inventory.bases[image.name];
  if (!observed) return { error: `its base was not observed` };
  if (observed.kind === 'unresolved') return { error: observed.reason };
  if (observed.kind === 'resolved') return { base: { kind: 'ami', amiId: observed.amiId, source: observed.source } };
  const source = `image:${observed.image}${observed.range ? `@${observed.range}` : ''}`;
  const dependency = decided.get(observed.image);
  if (dependency?.action === 'error') return { error: `its base image "${observed.image}" cannot be planned: ${dependency.reason}` };
  if ((dependency?.action === 'build' || dependency?.action === 'resume') && (!observed.range || semver.satisfies(dependency.nextVersion, observed.range))) {
    return {
      base: {
        kind: 'published-in-run',
        from: `publish:${observed.image}`,
        image: observed.image,
        version: dependency.nextVersion,
        source: `${source} → ${dependency.nextVersion} (published earlier in this run)`,
      },
    };
  }
  const dependencyImage = input.images.find((candidate) => candidate.name === observed.image);
  const dependencyState = imageState(input.inventory, observed.image, [image.buildRegion, ...(dependencyImage?.regions ?? [])]);
  // A revoked version is never built on, even while its parameters remain.
  const match = dependencyState.versions.find(
    (published) => (!observed.range || semver.satisfies(published.version, observed.range)) && published.amis[image.buildRegion] && revocationOf(dependencyState, published.version) === undefined,
  );
  if (!match)
    return {
      error: `base image "${observed.image}" has no published version${observed.range ? ` matching ${observed.range}` : ''} in ${image.buildRegion}. Run \`gild run ${observed.image}\` first.`,
    };
  return { base: { kind: 'ami', amiId: match.amis[image.buildRegion]!, source: `${source} → ${match.version}` } };
}

/** The base AMI an image's newest version was built on, if that AMI was revoked: who made it, which version, why. */
function revokedBase(inventory: Inventory, region: string, amiId: string | undefined): string | undefined {
  const ami = amiId === undefined ? undefined : amiById(inventory, region, amiId);
  if (ami?.tags['gild:status'] !== 'revoked') return undefined;
  return `its base ${ami.tags['gild:image'] ?? ''} ${ami.tags['gild:version'] ?? ami.amiId} was revoked (${ami.tags['gild:revoked-reason'] ?? 'no reason recorded'})`;
}

export function reasonToBuild(input: BuildReasonInput, image: ResolvedImage, state: ImageState, base: { base: BuildBase }, fingerprint: string): string | undefined {
  // A revoked version is not what latest should follow: the newest good one is.
  const newest = state.versions.find((published) => revocationOf(state, published.version) === undefined) ?? state.versions[0];
  if (!newest) return 'first build: no version is published yet';
  if (input.force) return 'rebuild forced with --force';
  const missingRegions = image.regions.filter((region) => !newest.amis[region]);
  if (missingRegions.length > 0) return `version ${newest.version} is not published in ${missingRegions.join(', ')}`;
  // A rollback holds latest on an older version on purpose: that is no reason to build.
  const strayLatest = state.holds['latest'] ? [] : image.regions.filter((region) => state.latest[region] !== newest.amis[region]);
  if (strayLatest.length > 0) return `latest in ${strayLatest.join(', ')} does not point to the newest version ${newest.version}`;
  if (base.base.kind === 'published-in-run') return `its base image "${base.base.image}" is rebuilt in this run`;
  const latestAmi = findAmi(state, image.buildRegion, state.holds['latest'] ? newest.amis[image.buildRegion] : state.latest[image.buildRegion]);
  if (!latestAmi) return `the AMI that latest points to in ${image.buildRegion} is gone or not tagged by gild`;
  const tags = latestAmi.tags;
  const own = semver.parse(image.version)!;
  if (semver.major(newest.version) !== own.major || semver.minor(newest.version) !== own.minor) return `the definition moved to ${own.major}.${own.minor}`;
  const revoked = revokedBase(input.inventory, image.buildRegion, tags['gild:base-ami']);
  if (revoked) return revoked;
  if (tags['gild:base-ami'] && tags['gild:base-ami'] !== base.base.amiId) return `the base AMI changed from ${tags['gild:base-ami']} to ${base.base.amiId}`;
  if (tags['gild:fingerprint'] !== fingerprint) return 'what goes into the image changed (the rendered template or the files it uses)';
  const builtAt = Date.parse(tags['gild:built-at'] ?? '');
  const days = input.settings.rebuildAfterDays;
  if (days !== undefined && Number.isFinite(builtAt) && input.now.getTime() - builtAt >= days * DAY_MS) {
    return `version ${newest.version} is ${Math.floor((input.now.getTime() - builtAt) / DAY_MS)} days old (rebuildAfterDays is ${days})`;
  }
  return undefined;
}

/**
 * The version an unpublished, resumable build carries when the only trace of that number is the ledger's record (its
 * own publish raised the ledger, then the run died): no parameter, no other AMI's tags, no revocation names it, and it
 * is the newest number used, so nothing was numbered after it. Then the number is that AMI's, and it resumes as it.
 */
export function numberOnlyThisBuildTook(
  state: ImageState,
  builds: readonly UnpublishedBuild[],
  image: ResolvedImage,
  nextUnused: string,
  fingerprint: string,
  base: { base: BuildBase },
  regionCopies: RegionCopies | undefined,
): { version: string; build: UnpublishedBuild } | undefined {
  for (const version of new Set(builds.map((build) => build.version))) {
    if (version === undefined || !takenOnlyByLedger(state, version, nextUnused)) continue;
    const build = findResumable(builds, image, version, fingerprint, base, regionCopies);
    if (build) return { version, build };
  }
  return undefined;
}

/** Whether `version` is the newest number used and the ledger's record is its only trace (see numberOnlyThisBuildTook). */
export function takenOnlyByLedger(state: ImageState, version: string, nextUnused: string): boolean {
  if (semver.valid(version) === null || semver.inc(version, 'patch') !== nextUnused) return false;
  const line = `${semver.major(version)}.${semver.minor(version)}`;
  if (state.ledger.built[line] !== version || Object.hasOwn(state.ledger.revoked, version)) return false;
  const { [line]: _ledgerEntry, ...otherLines } = state.ledger.built;
  const otherTraces = usedVersions({ ...state, ledger: { ...state.ledger, built: otherLines } });
  return !otherTraces.includes(version) && revocationOf(state, version) === undefined;
}

/** An earlier run's build of exactly what would be built now, in every region, that nothing published. */
export function findResumable(
  builds: readonly UnpublishedBuild[],
  image: ResolvedImage,
  version: string,
  fingerprint: string,
  base: { base: BuildBase },
  regionCopies: RegionCopies | undefined,
): UnpublishedBuild | undefined {
  if (base.base.kind !== 'ami') return undefined;
  const baseAmiId = base.base.amiId;
  return builds
    .filter(
      (build) =>
        build.version === version &&
        build.fingerprint === fingerprint &&
        build.baseAmiId === baseAmiId &&
        resumableStatuses.has(build.status ?? '') &&
        hasEveryRegionToResume(build.amis, image, regionCopies),
    )
    .sort((a, b) => compareCodeUnits(b.runId, a.runId))[0];
}

export interface ProducerInput {
  readonly image: ResolvedImage;
  readonly runId: string;
  readonly version: string;
  readonly base: BuildBase;
  readonly fingerprint: string;
  /** An earlier run's build of exactly this, carried on instead of building. */
  readonly resumable: UnpublishedBuild | undefined;
  /** Why the image is built at all. */
  readonly reason: string;
  readonly lockStepId: string;
}

/** The step that makes the version's AMIs: resume an earlier run's build of exactly this, or build it. */
export function producerStep(input: ProducerInput): Extract<PlanStep, { kind: 'build' | 'resume' }> {
  const { image, version, resumable, lockStepId } = input;
  if (resumable) {
    return {
      id: `resume:${image.name}`,
      kind: 'resume',
      image: image.name,
      version,
      amis: Object.fromEntries(Object.entries(resumable.amis).map(([region, ami]) => [region, ami.amiId])),
      snapshots: Object.fromEntries(Object.entries(resumable.amis).map(([region, ami]) => [region, ami.snapshotIds])),
      fromRunId: resumable.runId,
      baseAmiId: resumable.baseAmiId ?? '',
      after: [lockStepId],
      reason: `resume ${version} from run ${resumable.runId}: built (${resumable.status}), not published, same fingerprint and base`,
      precondition: `the AMIs of run ${resumable.runId} still exist, unpublished, in every region`,
    };
  }
  return {
    id: `build:${image.name}`,
    kind: 'build',
    image: image.name,
    version,
    regions: image.regions,
    base: input.base,
    fingerprint: input.fingerprint,
    amiName: `${image.name}-${version}-${input.runId}`,
    after: [lockStepId, ...(input.base.kind === 'published-in-run' ? [input.base.from] : [])],
    reason: [input.reason, describeGeneralizeChoice(image)].filter(Boolean).join('; '),
    precondition: `no version of ${image.name} was published since this plan was made, and the lock is ours`,
  };
}
