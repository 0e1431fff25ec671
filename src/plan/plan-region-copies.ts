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
 * Pure: it rearranges the steps planImageSteps made for one image (a resumed build already has every region's AMI
 * and needs no copy).
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { PlanStep } from './run-plan.ts';

export type RegionCopies = 'packer' | 'gild';

type Step<K extends PlanStep['kind']> = Extract<PlanStep, { kind: K }>;

export function planRegionCopies(input: { readonly image: ResolvedImage; readonly steps: readonly PlanStep[]; readonly regionCopies: RegionCopies | undefined }): PlanStep[] {
  const { image } = input;
  const copyRegions = image.regions.filter((region) => region !== image.buildRegion);
  const steps = [...input.steps];
  if (input.regionCopies !== 'gild') return steps;
  const baseRewritten = buildFromTestedBase(steps);
  const build = baseRewritten.find((step): step is Step<'build'> => step.kind === 'build' && step.image === image.name);
  if (!build || copyRegions.length === 0) return baseRewritten;

  const copies: Step<'copy'>[] = copyRegions.map((region) => ({
    id: `copy:${image.name}:${region}`,
    kind: 'copy',
    image: image.name,
    version: build.version,
    region,
    sourceRegion: image.buildRegion,
    source: { from: build.id },
    kmsKeyId: image.encryption ? (image.encryption.regionKmsKeyIds[region] ?? image.encryption.kmsKeyId) : undefined,
    after: [build.id],
    reason: `copy to ${region} while the smoke test runs in ${image.buildRegion}${image.encryption ? ', encrypted with the region\u2019s key' : ''}; finished once the smoke test passed, cancelled and removed if it fails (a failing image is never copied)`,
    precondition: `the build's AMI in ${image.buildRegion} still exists, available and not marked failed`,
  }));
  const copyIds = Object.fromEntries(copies.map((copy) => [copy.region, copy.id]));
  const withCopies = { from: build.id, copies: copyIds };
  const rearranged = baseRewritten.flatMap((step): PlanStep[] => {
    if (step === build) return [{ ...build, regions: [image.buildRegion], reason: `${build.reason}; in ${image.buildRegion} only: gild copies to ${copyRegions.join(', ')} itself, beside the smoke test` }];
    // Listed after the smoke test they run beside: a failing image's outcome names the smoke test, not its cancelled copies.
    if (step.kind === 'smoke' && step.image === image.name) return [step, ...copies];
    if (step.kind === 'share' && step.image === image.name && 'from' in step.amis && step.amis.from === build.id) {
      // A region's share waits for that region's copy only; the build region's for none.
      const copyId = copyIds[step.region];
      return [copyId ? { ...step, amis: { from: build.id, copies: { [step.region]: copyId } }, after: [...step.after, copyId] } : step];
    }
    if (step.kind === 'publish' && step.image === image.name && 'from' in step.amis && step.amis.from === build.id) return [{ ...step, amis: withCopies, after: [...step.after, ...copies.map((copy) => copy.id)] }];
    return [step];
  });
  return rearranged;
}

/**
 * A build on another image published in this run starts from that image's tested build-region AMI: after its smoke
 * test (not its publish, which waits for its copies), and the dependant's publish waits for the base's.
 */
function buildFromTestedBase(steps: readonly PlanStep[]): PlanStep[] {
  const build = steps.find((step): step is Step<'build'> => step.kind === 'build');
  if (!build || build.base.kind !== 'published-in-run' || !build.base.from.startsWith('publish:')) return [...steps];
  const baseImage = build.base.image;
  const basePublish = build.base.from;
  // NOTE: the base's build or resume is known only to the whole plan; the build stage reads whichever ran (build.ts).
  const testedBase = { ...build.base, from: `smoke:${baseImage}`, source: `${build.base.source.replace(' (published earlier in this run)', '')} (its AMI tested earlier in this run, published before this one)` };
  return steps.map((step): PlanStep => {
    if (step === build) return { ...build, base: testedBase, after: build.after.map((id) => (id === basePublish ? `smoke:${baseImage}` : id)), reason: `${build.reason}; built from ${baseImage}'s tested AMI while its copies finish` };
    if (step.kind === 'publish' && step.image === build.image && !step.after.includes(basePublish)) return { ...step, after: [...step.after, basePublish] };
    return step;
  });
}
