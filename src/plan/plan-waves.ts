/**
 * The images a plan changes, in dependency waves for a CI fan-out (one job
 * per image, wave after wave): an image comes one wave after the latest wave
 * of any image one of its steps waits for (e.g. `build:app` after
 * `publish:base`). Steps of no image (sweeps) order nothing between images.
 * Pure.
 */
import type { RunPlan } from './run-plan.ts';

/** What `gild plan --matrix` prints: each wave is a GitHub Actions `strategy.matrix`. */
export interface PlanMatrix {
  readonly waves: readonly { readonly include: readonly { readonly image: string }[] }[];
}

/** Images whose plan does work that needs a job: build, resume, or finish a publish. */
const actionsThatNeedAJob: ReadonlySet<string> = new Set(['build', 'resume', 'finish']);

export function planWaves(plan: RunPlan): string[][] {
  const working = plan.images.filter((decision) => actionsThatNeedAJob.has(decision.action)).map((decision) => decision.image);
  const imageOfStep = new Map(plan.steps.flatMap((step) => ('image' in step ? [[step.id, step.image] as const] : [])));
  const dependsOn = new Map<string, Set<string>>(working.map((image) => [image, new Set<string>()]));
  for (const step of plan.steps) {
    if (!('image' in step) || !dependsOn.has(step.image)) continue;
    for (const id of step.after) {
      const other = imageOfStep.get(id);
      if (other !== undefined && other !== step.image && dependsOn.has(other)) dependsOn.get(step.image)!.add(other);
    }
  }
  const waveOf = new Map<string, number>();
  const visiting = new Set<string>();
  const place = (image: string): number => {
    const known = waveOf.get(image);
    if (known !== undefined) return known;
    // NOTE: the plan is acyclic by construction (definitions with a base cycle are refused); this guards the invariant.
    if (visiting.has(image)) throw new Error(`the plan's steps wait for each other in a cycle through image "${image}"`);
    visiting.add(image);
    const wave = Math.max(-1, ...[...dependsOn.get(image)!].map(place)) + 1;
    visiting.delete(image);
    waveOf.set(image, wave);
    return wave;
  };
  const waves: string[][] = [];
  for (const image of working) (waves[place(image)] ??= []).push(image);
  return waves.map((wave) => wave.sort());
}

export function planMatrix(plan: RunPlan): PlanMatrix {
  return { waves: planWaves(plan).map((wave) => ({ include: wave.map((image) => ({ image })) })) };
}
