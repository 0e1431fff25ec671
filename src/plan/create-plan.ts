/**
 * Builds the run plan: observe AWS (read-only), then decide per image with the
 * pure planners, dependencies first so that an image rebuilt in this run
 * rebuilds what is built on it.
 */
import semver from 'semver';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { observeImage, observeRetirementFacts, type ImageObservation } from './observe.ts';
import { planImage } from './plan-image.ts';
import { planRetirement } from './plan-retirement.ts';
import type { ImagePlan, PublishedVersion, RetirementAction, RunPlan } from './types.ts';

/** Dependencies before dependants; input order otherwise. Cycles were rejected by validation. */
export function orderByDependency(images: readonly ResolvedImage[]): ResolvedImage[] {
  const byName = new Map(images.map((image) => [image.name, image]));
  const ordered: ResolvedImage[] = [];
  const seen = new Set<string>();
  const visit = (image: ResolvedImage) => {
    if (seen.has(image.name)) return;
    seen.add(image.name);
    for (const dependency of image.dependsOn) {
      const dependencyImage = byName.get(dependency);
      if (dependencyImage) visit(dependencyImage);
    }
    ordered.push(image);
  };
  images.forEach(visit);
  return ordered;
}

/** Retirements that publishing `nextVersion` would cause, checked against ownership and use. */
export async function planRetirementsFor(
  context: Context,
  image: ResolvedImage,
  versions: readonly PublishedVersion[],
  latest: Readonly<Record<string, string | undefined>>,
): Promise<RetirementAction[]> {
  const keep = image.retention.keep;
  const sorted = [...versions].sort((a, b) => semver.rcompare(a.version, b.version));
  const candidates: Record<string, string[]> = {};
  for (const old of sorted.slice(keep)) for (const [region, amiId] of Object.entries(old.amis)) (candidates[region] ??= []).push(amiId);
  if (Object.keys(candidates).length === 0) return [];
  const facts = await observeRetirementFacts(context, image.name, candidates);
  return planRetirement({
    image: image.name,
    keep,
    ssmPrefix: context.settings.ssmPrefix,
    versions: sorted,
    latest,
    ...facts,
  });
}

export async function createPlan(context: Context, images: readonly ResolvedImage[]): Promise<RunPlan> {
  const ordered = orderByDependency(images);
  const observations = new Map<string, ImageObservation>(
    await Promise.all(ordered.map(async (image) => [image.name, await observeImage(context, image)] as const)),
  );
  const plans = new Map<string, ImagePlan>();
  for (const image of ordered) {
    let observation = observations.get(image.name)!;
    const dependency = image.base.kind === 'image' ? plans.get(image.base.image) : undefined;
    if (image.base.kind === 'image' && dependency) {
      if (dependency.action === 'build') observation = { ...observation, base: { kind: 'dependency', image: image.base.image, source: `image:${image.base.image}${image.base.range ? `@${image.base.range}` : ''}` } };
      if (dependency.action === 'error') {
        plans.set(image.name, { image: image.name, action: 'error', kind: 'pipeline', reason: `its base image "${image.base.image}" cannot be planned` });
        continue;
      }
    }
    const rebuilt = new Set([...plans.values()].filter((plan) => plan.action === 'build').map((plan) => plan.image));
    const decided = planImage({
      image,
      observation,
      ssmPrefix: context.settings.ssmPrefix,
      projectRoot: context.cwd,
      force: context.options.force,
      now: context.now(),
      rebuildAfterDays: context.settings.rebuildAfterDays,
      rebuiltDependencies: rebuilt,
    });
    if (decided.action !== 'build') {
      plans.set(image.name, decided);
      continue;
    }
    // Plan ahead as if this build publishes: `latest` moves to the new AMI, so the old ones are candidates.
    const afterPublish = [{ version: decided.nextVersion, amis: Object.fromEntries(image.regions.map((region) => [region, '(new AMI)'])) }, ...observation.published.versions];
    const latest = Object.fromEntries(image.regions.map((region) => [region, '(new AMI)']));
    const retirements = await planRetirementsFor(context, image, afterPublish, latest);
    plans.set(image.name, { ...decided, retirements });
  }
  return { runId: context.runId, images: ordered.map((image) => plans.get(image.name)!) };
}
