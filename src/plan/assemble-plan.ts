/**
 * The run's plan, decided purely from what was observed: no clients, no
 * files, no clock but the one passed in. Same input, same plan.
 *
 * Per image, in dependency order: is its lock free (or stale), what version
 * comes next, is there a reason to build, can an earlier run's unpublished
 * build be resumed instead, what unpublished AMIs to clean up, what to
 * publish, what to retire. Then, across regions, which temporary resources of
 * dead runs to sweep.
 */
import { createHash } from 'node:crypto';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory } from '../observe/inventory.ts';
import { imageAmis, imageParameters, withInventoryIndex } from './inventory-slices.ts';
import { planImageSteps } from './plan-image-steps.ts';
import type { RegionCopies } from './plan-region-copies.ts';
import { planSweep } from './plan-sweep.ts';
import { planNotifications } from './plan-notifications.ts';
import type { NotifySettings } from '../notify/notify-settings.ts';
import { planSchemaVersion, type ImageDecision, type KeptResource, type PlanStep, type RunPlan } from './run-plan.ts';

export interface AssembleInput {
  readonly runId: string;
  readonly now: Date;
  /** The images this run covers (selected on the command line, or all). */
  readonly images: readonly ResolvedImage[];
  /** What each image's build would be made of, by image name (`gild:fingerprint`). */
  readonly fingerprints: Readonly<Record<string, string>>;
  readonly inventory: Inventory;
  readonly force: boolean;
  readonly settings: {
    readonly sweepAfterMinutes: number;
    readonly rebuildAfterDays: number | undefined;
    readonly keepFailedDays?: number;
    /** Declared channels and their soak: a revoke finished by this run moves a channel only to a version that soaked. */
    readonly channels?: Readonly<Record<string, { readonly soakDays: number }>>;
    /** Deregistration protection on what pointers name (src/plan/plan-protection.ts). */
    readonly protection?: boolean;
    /** Who copies an image to its other regions: Packer inside the build (`ami_regions`), or gild beside the smoke test. */
    readonly regionCopies?: RegionCopies;
    /** Whom to tell about what this plan publishes, fails and retires (src/plan/plan-notifications.ts). */
    readonly notify?: NotifySettings | undefined;
  };
  /**
   * `run` (the default) builds, publishes and retires; `retire` plans only what retirement needs (lock, cleanup of
   * unpublished AMIs, retire, release): `gild retire`, which works on unchanged images without building them.
   */
  readonly mode?: 'run' | 'retire';
  /**
   * What a shared plan decided for images another CI job applies (`gild run <image> --plan file`): an image built on
   * one of them is planned on the version that job publishes, as the shared plan was.
   */
  readonly decidedElsewhere?: readonly ImageDecision[];
}

export function assemblePlan(input: AssembleInput): RunPlan {
  // Every image's decisions read its slice of the inventory: indexed once for the whole assembly, not scanned per image.
  return withInventoryIndex(input.inventory, () => assembleIndexed(input));
}

function assembleIndexed(input: AssembleInput): RunPlan {
  const { inventory, now } = input;
  const ordered = orderByDependency(input.images);
  const decisions = new Map<string, ImageDecision>((input.decidedElsewhere ?? []).map((decision) => [decision.image, decision]));
  const steps: PlanStep[] = [];
  const kept: KeptResource[] = [];

  const sweep =
    input.mode === 'retire'
      ? []
      : planSweep({
          inventory,
          runId: input.runId,
          now,
          sweepAfterMinutes: input.settings.sweepAfterMinutes,
          buildRegions: Object.fromEntries(input.images.map((image) => [image.name, image.buildRegion])),
        });
  steps.push(...sweep);
  const sweepIds = sweep.map((step) => step.id);

  for (const image of ordered) {
    const planned = planImageSteps(input, image, decisions, sweepIds);
    decisions.set(image.name, planned.decision);
    steps.push(...planned.steps);
    kept.push(...planned.kept);
  }

  const images = ordered.map((image) => decisions.get(image.name)!);
  steps.push(...planNotifications({ notify: input.settings.notify, images: ordered, decisions: images, steps }));

  return {
    schema: planSchemaVersion,
    runId: input.runId,
    createdAt: now.toISOString(),
    ssmPrefix: inventory.ssmPrefix,
    options: { force: input.force, images: ordered.map((image) => image.name) },
    observed: { at: inventory.observedAt, digests: Object.fromEntries(ordered.map((image) => [image.name, imageDigest(inventory, image)])) },
    images,
    steps,
    kept,
  };
}

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

/**
 * What an image's observed state hashes to: its parameters (lock included) and
 * its AMIs' states. A saved plan is refused for an image whose digest moved.
 */
export function imageDigest(inventory: Inventory, image: ResolvedImage): string {
  const facts: string[] = [];
  for (const region of image.regions) {
    for (const parameter of imageParameters(inventory, region, image.name)) facts.push(`p ${region} ${parameter.name}=${parameter.value}`);
    for (const ami of imageAmis(inventory, region, image.name)) facts.push(`a ${region} ${ami.amiId} ${ami.state} ${ami.tags['gild:status'] ?? ''}`);
  }
  return createHash('sha256').update(facts.sort().join('\n')).digest('hex').slice(0, 16);
}

/** AMIs the plan may delete, per region: who uses them is observed before the final plan is assembled. */
export function deletionCandidates(plan: RunPlan): Record<string, string[]> {
  const candidates: Record<string, string[]> = {};
  for (const step of plan.steps) if ((step.kind === 'retire' || step.kind === 'cleanup') && step.amiId) (candidates[step.region] ??= []).push(step.amiId);
  return candidates;
}
