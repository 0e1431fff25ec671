/**
 * The images a plan changes, spread over CI jobs. Pure.
 *
 * Waves: an image comes one wave after the latest wave of any image one of its
 * steps waits for (e.g. `build:app` after `publish:base`). Steps of no image
 * (sweeps) order nothing between images.
 *
 * Fan-out: the images are packed into jobs that all start at once, with no
 * barrier between waves: an image whose base is in another job waits for that
 * base's publication (`gild run --wait-for-bases`), and an image whose base is
 * in its own job waits in-process, as any `gild run` does. Chains (each image
 * the only dependant of the one before) stay in one job where they can, since
 * their images build one after another anyway; jobs are listed so that every
 * job comes after the jobs it waits for, so an engine that starts jobs in
 * order never has all its runners held by jobs waiting for jobs still queued.
 */
import type { RunPlan } from './run-plan.ts';

/** The CI engines `gild plan --matrix` fans out over, and the most jobs one matrix may have there. */
export const matrixLimits = { github: 256, gitlab: 200 } as const;
export type CiEngine = keyof typeof matrixLimits;

/** Images whose plan does work that needs a job: build, resume, or finish a publish. */
const actionsThatNeedAJob: ReadonlySet<string> = new Set(['build', 'resume', 'finish']);

interface Dependencies {
  /** Images that need a job, in the plan's order. */
  readonly working: readonly string[];
  /** Image → the images (that need a job) it waits for. */
  readonly basesOf: ReadonlyMap<string, ReadonlySet<string>>;
}

function dependenciesOf(plan: RunPlan): Dependencies {
  const working = plan.images.filter((decision) => actionsThatNeedAJob.has(decision.action)).map((decision) => decision.image);
  const imageOfStep = new Map(plan.steps.flatMap((step) => ('image' in step ? [[step.id, step.image] as const] : [])));
  const basesOf = new Map<string, Set<string>>(working.map((image) => [image, new Set<string>()]));
  for (const step of plan.steps) {
    if (!('image' in step) || !basesOf.has(step.image)) continue;
    for (const id of step.after) {
      const other = imageOfStep.get(id);
      if (other !== undefined && other !== step.image && basesOf.has(other)) basesOf.get(step.image)!.add(other);
    }
  }
  return { working, basesOf };
}

function waveNumbers({ working, basesOf }: Dependencies): Map<string, number> {
  const waveOf = new Map<string, number>();
  const visiting = new Set<string>();
  const place = (image: string): number => {
    const known = waveOf.get(image);
    if (known !== undefined) return known;
    // NOTE: the plan is acyclic by construction (definitions with a base cycle are refused); this guards the invariant.
    if (visiting.has(image)) throw new Error(`the plan's steps wait for each other in a cycle through image "${image}"`);
    visiting.add(image);
    let wave = 0;
    for (const base of basesOf.get(image)!) wave = Math.max(wave, place(base) + 1);
    visiting.delete(image);
    waveOf.set(image, wave);
    return wave;
  };
  for (const image of working) place(image);
  return waveOf;
}

export function planWaves(plan: RunPlan): string[][] {
  const dependencies = dependenciesOf(plan);
  const waveOf = waveNumbers(dependencies);
  const waves: string[][] = [];
  for (const image of dependencies.working) (waves[waveOf.get(image)!] ??= []).push(image);
  return waves.map((wave) => wave.sort());
}

export interface FanOutOptions {
  readonly engine: CiEngine;
  /** At most this many images a job; chains are split to fit. Without it, the fewest images a job that fit `maxJobs`. */
  readonly perJob?: number;
  /** At most this many jobs in all (default: one matrix of the engine). Ignored when `perJob` is given. */
  readonly maxJobs?: number;
}

export interface FanOutJob {
  /** 1-based, in the order the jobs should start. */
  readonly job: number;
  /** In dependency order: an image after every image of this job it waits for. */
  readonly images: readonly string[];
  /** Images of earlier jobs whose publication an image of this job waits for. */
  readonly waitsFor: readonly string[];
}

export interface FanOut {
  readonly engine: CiEngine;
  readonly images: number;
  /** The most images a job was allowed; a whole chain may exceed it when it was chosen automatically. */
  readonly perJob: number;
  /** Waves: the longest chain of images waiting for each other. */
  readonly depth: number;
  readonly jobs: readonly FanOutJob[];
  /** The jobs in matrices of at most the engine's limit, in order. */
  readonly matrices: readonly (readonly FanOutJob[])[];
}

export function planFanOut(plan: RunPlan, options: FanOutOptions): FanOut {
  const dependencies = dependenciesOf(plan);
  const { working, basesOf } = dependencies;
  const waveOf = waveNumbers(dependencies);
  const dependantsOf = new Map<string, string[]>(working.map((image) => [image, []]));
  for (const [image, bases] of basesOf) for (const base of bases) dependantsOf.get(base)!.push(image);
  // A chain link: the image's only base has no other dependant. Every image is in exactly one chain (a path).
  const onlyBase = (image: string): string | undefined => {
    const bases = basesOf.get(image)!;
    if (bases.size !== 1) return undefined;
    const [base] = bases as Set<string>;
    return dependantsOf.get(base!)!.length === 1 ? base : undefined;
  };
  const byWaveThenName = (a: string, b: string) => waveOf.get(a)! - waveOf.get(b)! || (a < b ? -1 : a > b ? 1 : 0);
  const chains = working
    .filter((image) => onlyBase(image) === undefined)
    .sort(byWaveThenName)
    .map((first) => {
      const chain = [first];
      for (let last = first, next = dependantsOf.get(last)!; next.length === 1 && onlyBase(next[0]!) === last; last = next[0]!, next = dependantsOf.get(last)!) chain.push(next[0]!);
      return chain;
    });
  const matrixLimit = matrixLimits[options.engine];
  const maxJobs = options.maxJobs ?? matrixLimit;
  let perJob: number;
  let packed: string[][];
  if (options.perJob !== undefined) {
    perJob = options.perJob;
    packed = pack(
      chains.flatMap((chain) => split(chain, perJob)),
      perJob,
      byWaveThenName,
    );
  } else {
    // NOTE: whole chains, so that no job waits on another for a chain it could build itself; the fewest images a job
    // that fit, so that as many images as possible build at once. Each try is linear; the count falls as perJob grows.
    perJob = Math.max(1, Math.ceil(working.length / maxJobs));
    packed = pack(chains, perJob, byWaveThenName);
    while (packed.length > maxJobs) packed = pack(chains, ++perJob, byWaveThenName);
  }
  const jobOf = new Map<string, number>();
  packed.forEach((images, index) => images.forEach((image) => jobOf.set(image, index + 1)));
  const jobs = packed.map((images, index) => ({
    job: index + 1,
    images,
    waitsFor: [...new Set(images.flatMap((image) => [...basesOf.get(image)!].filter((base) => jobOf.get(base) !== index + 1)))].sort(),
  }));
  const matrices: FanOutJob[][] = [];
  for (let start = 0; start < jobs.length; start += matrixLimit) matrices.push(jobs.slice(start, start + matrixLimit));
  return { engine: options.engine, images: working.length, perJob, depth: working.length === 0 ? 0 : Math.max(...waveOf.values()) + 1, jobs, matrices };
}

function split(chain: readonly string[], size: number): string[][] {
  const pieces: string[][] = [];
  for (let start = 0; start < chain.length; start += size) pieces.push(chain.slice(start, start + size));
  return pieces;
}

/**
 * Next fit, pieces in the order of their first image's wave: a piece waits only for images of earlier waves, which
 * are in pieces placed before it, so every job waits only for earlier jobs (or itself). A piece larger than
 * `perJob` (a whole chain) is a job of its own.
 */
function pack(pieces: readonly (readonly string[])[], perJob: number, order: (a: string, b: string) => number): string[][] {
  const jobs: string[][] = [];
  let current: string[] = [];
  for (const piece of [...pieces].sort((a, b) => order(a[0]!, b[0]!))) {
    if (current.length > 0 && current.length + piece.length > perJob) {
      jobs.push(current);
      current = [];
    }
    current.push(...piece);
  }
  if (current.length > 0) jobs.push(current);
  return jobs.map((images) => images.sort(order));
}

/** What `gild plan --matrix` prints for GitHub Actions: each matrix a `strategy.matrix`, `images` for `gild run`. */
export interface PlanMatrix {
  readonly engine: CiEngine;
  readonly images: number;
  readonly jobs: number;
  readonly perJob: number;
  readonly depth: number;
  readonly matrices: readonly { readonly include: readonly { readonly job: number; readonly images: string; readonly waitsFor: string }[] }[];
}

export function planMatrix(plan: RunPlan, options: FanOutOptions = { engine: 'github' }): PlanMatrix {
  const fanOut = planFanOut(plan, options);
  return {
    engine: fanOut.engine,
    images: fanOut.images,
    jobs: fanOut.jobs.length,
    perJob: fanOut.perJob,
    depth: fanOut.depth,
    matrices: fanOut.matrices.map((jobs) => ({ include: jobs.map((job) => ({ job: job.job, images: job.images.join(' '), waitsFor: job.waitsFor.join(' ') })) })),
  };
}
