/**
 * gild-owned region copies (settings `regionCopies: 'gild'`): instead of Packer copying to every region inside
 * `packer build` (`ami_regions`, which returns only once every copy is available), the build makes the build region's
 * AMI only and one `copy` step per other region copies it, beside the smoke test. On AWS a copy takes 5–30 minutes
 * and a smoke test a few; with Packer's copies the smoke test, the publish and every dependant image wait for the
 * slowest copy first (docs/aws-clock.md).
 *
 * The order this gives, per image:
 *   build (build region only) → copy to each other region ┐
 *                             → smoke test ────────────────┴→ share (per region, after its copy) → publish
 * A copy finishes only once the smoke test passed; if it fails, the copy is cancelled and removed (region-copy.ts), so
 * a failing image is never left in another region. An image built on another image of this run starts from its base's
 * tested build-region AMI (after the base's smoke test, not its publish, so while the base's copies still run), and
 * publishes only after its base published.
 *
 * A run killed while copying is resumed from its build region's AMI: the copies it started are found again by name
 * (the copy steps of the resuming run), the ones it never started are started.
 *
 * Pure: it rearranges the steps planImageSteps made for one image.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { ObservedAmi } from '../observe/inventory.ts';
import type { ImageState } from './image-state.ts';
import { takesAmisFrom, type PlanStep } from './run-plan.ts';

export type RegionCopies = 'packer' | 'gild';

type Step<K extends PlanStep['kind']> = Extract<PlanStep, { kind: K }>;

/**
 * Whether an unpublished build has what resuming it needs: with Packer's copies, an available AMI in every region;
 * with gild's, one in the build region, and in the others at most a copy still pending or done (never a failed one).
 */
export function hasEveryRegionToResume(amis: Readonly<Record<string, ObservedAmi>>, image: ResolvedImage, regionCopies: RegionCopies | undefined): boolean {
  if (regionCopies !== 'gild') return image.regions.every((region) => amis[region]?.state === 'available') && Object.keys(amis).length === image.regions.length;
  return amis[image.buildRegion]?.state === 'available' && Object.entries(amis).every(([region, ami]) => image.regions.includes(region) && (ami.state === 'available' || ami.state === 'pending'));
}

export function planRegionCopies(input: {
  readonly image: ResolvedImage;
  readonly steps: readonly PlanStep[];
  readonly regionCopies: RegionCopies | undefined;
  readonly state: ImageState;
  /** The run's images: a base built in this run says whether its other regions are still being tested. */
  readonly images?: readonly ResolvedImage[];
}): PlanStep[] {
  const { image } = input;
  const steps = [...input.steps];
  if (input.regionCopies !== 'gild') return steps;
  const baseRewritten = buildFromTestedBase(steps, image.buildRegion, input.images ?? []);
  const producer = baseRewritten.find((step): step is Step<'build'> | Step<'resume'> => (step.kind === 'build' || step.kind === 'resume') && step.image === image.name);
  if (!producer) return baseRewritten;
  // A resumed build keeps the copies that are done; the others are (found again and) finished by copy steps.
  const done = (region: string) => producer.kind === 'resume' && input.state.amis[region]?.some((ami) => ami.amiId === producer.amis[region] && ami.state === 'available');
  const copyRegions = image.regions.filter((region) => region !== image.buildRegion && !done(region));
  if (copyRegions.length === 0) return baseRewritten;
  const made =
    producer.kind === 'build'
      ? { ...producer, regions: [image.buildRegion], reason: `${producer.reason}; in ${image.buildRegion} only: gild copies to ${copyRegions.join(', ')} itself, beside the smoke test` }
      : {
          ...producer,
          amis: keep(producer.amis, copyRegions),
          snapshots: keep(producer.snapshots, copyRegions),
          reason: `${producer.reason}; the copies to ${copyRegions.join(', ')} it had not finished are finished (or started) beside the smoke test`,
        };

  const smoke = baseRewritten.find((step) => step.kind === 'smoke' && step.image === image.name && step.region === undefined);
  // `smoke.regions: 'all'`: a region's own smoke test, which tests (and, failing, lets its discard step remove) its copy.
  const smokedIn = new Set(baseRewritten.flatMap((step) => (step.kind === 'smoke' && step.image === image.name && step.region !== undefined ? [step.region] : [])));
  const copies: Step<'copy'>[] = copyRegions.map((region) => ({
    id: `copy:${image.name}:${region}`,
    kind: 'copy',
    image: image.name,
    version: made.version,
    region,
    sourceRegion: image.buildRegion,
    source: { from: made.id },
    kmsKeyId: image.encryption ? (image.encryption.regionKmsKeyIds[region] ?? image.encryption.kmsKeyId) : undefined,
    after: [made.id],
    // Beside the smoke test, not after it: the copy ends as soon as that step settles without success.
    ...(smoke ? { besideSmoke: smoke.id } : {}),
    reason: `copy to ${region} while the smoke test runs in ${image.buildRegion}${image.encryption ? ', encrypted with the region\u2019s key' : ''}; finished once the smoke test passed, cancelled and removed if it fails (a failing image is never copied; smoke.onFailure "keep" keeps it in ${image.buildRegion} only)`,
    precondition: `the build's AMI in ${image.buildRegion} still exists, available and not marked failed`,
  }));
  const copyIds = Object.fromEntries(copies.map((copy) => [copy.region, copy.id]));
  const withCopies = { from: made.id, copies: copyIds };
  const rearranged = baseRewritten.flatMap((step): PlanStep[] => {
    if (step === producer) return [made];
    // The copy step itself removes a failed image's copy there: the build made no AMI in that region to discard. A
    // copy that a region's smoke test tests, though, is finished before that test can fail it: its discard stays.
    if (step.kind === 'discard' && step.image === image.name && copyRegions.includes(step.region)) {
      const copyId = copyIds[step.region]!;
      return smokedIn.has(step.region) ? [{ ...step, amis: { from: made.id, copies: { [step.region]: copyId } } }] : [];
    }
    // A region's smoke test launches that region's copy: it waits for it.
    if (step.kind === 'smoke' && step.image === image.name && step.region !== undefined) {
      const copyId = copyIds[step.region];
      return [copyId ? { ...step, amis: { from: made.id, copies: { [step.region]: copyId } }, after: [...step.after, copyId] } : step];
    }
    // Listed after the smoke test they run beside: a failing image's outcome names the smoke test, not its cancelled copies.
    if (step.kind === 'smoke' && step.image === image.name) return [step, ...copies];
    if (step.kind === 'share' && step.image === image.name && takesAmisFrom(step, made.id)) {
      // A region's share waits for that region's copy only; the build region's for none.
      const copyId = copyIds[step.region];
      return [copyId ? { ...step, amis: { from: made.id, copies: { [step.region]: copyId } }, after: [...step.after, copyId] } : step];
    }
    if (step.kind === 'publish' && step.image === image.name && takesAmisFrom(step, made.id)) return [{ ...step, amis: withCopies, after: [...step.after, ...copies.map((copy) => copy.id)] }];
    return [step];
  });
  return rearranged;
}

/** A resumed build's AMIs (or snapshots) without the regions whose copy is still to finish. */
function keep<T>(byRegion: Readonly<Record<string, T>>, unfinished: readonly string[]): Record<string, T> {
  return Object.fromEntries(Object.entries(byRegion).filter(([region]) => !unfinished.includes(region)));
}

/**
 * A build on another image published in this run starts from that image's tested build-region AMI: after its smoke
 * test (not its publish, which waits for its copies), and the dependant's shares and publish wait for the base's publish.
 */
function buildFromTestedBase(steps: readonly PlanStep[], buildRegion: string, images: readonly ResolvedImage[]): PlanStep[] {
  const build = steps.find((step): step is Step<'build'> => step.kind === 'build');
  if (!build || build.base.kind !== 'published-in-run' || !build.base.from.startsWith('publish:')) return [...steps];
  const baseImage = build.base.image;
  // NOTE: with the base's `smoke.regions: 'all'`, the build starts once the base's build-region test passed, while its
  // other regions are still tested (here, or in another CI job reading AWS): the plan says so rather than implying the
  // base is tested everywhere; the dependant's publish still waits for the base's, which waits for every region's test.
  const base = images.find((candidate) => candidate.name === baseImage);
  const stillTested = base?.smoke.regions === 'all' ? base.copyRegions.filter((region) => region !== buildRegion) : [];
  const startsFrom =
    stillTested.length > 0
      ? `builds on ${baseImage}'s tested ${buildRegion} AMI; ${baseImage}'s other regions (${stillTested.join(', ')}) are still being tested, and its publish waits for ${baseImage}'s`
      : `built from ${baseImage}'s tested AMI while its copies finish`;
  const basePublish = build.base.from;
  // NOTE: the base's build or resume is known only to the whole plan; the build stage reads whichever ran (build.ts).
  const testedBase = {
    ...build.base,
    from: `smoke:${baseImage}`,
    source: `${build.base.source.replace(' (published earlier in this run)', '')} (its AMI tested earlier in this run, published before this one)`,
  };
  return steps.map((step): PlanStep => {
    if (step === build)
      return {
        ...build,
        base: testedBase,
        after: build.after.map((id) => (id === basePublish ? `smoke:${baseImage}` : id)),
        reason: `${build.reason}; ${startsFrom}`,
      };
    // NOTE: its shares too: an image is never shared while its base may still fail (its copies, or its Packer after
    // the AMI, docs/aws-clock.md), and the base's publish is what another CI job can wait for.
    if ((step.kind === 'publish' || step.kind === 'share') && step.image === build.image && !step.after.includes(basePublish)) return { ...step, after: [...step.after, basePublish] };
    return step;
  });
}
