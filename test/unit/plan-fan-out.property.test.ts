/**
 * The CI fan-out over generated fleets of depth 1 to 8: whatever the shape and
 * the options, every matrix fits the engine, every image is in exactly one
 * job, and an image waits only for images in its own job before it or in
 * earlier jobs, so that jobs started in order can never all wait on jobs that
 * have not started.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matrixLimits, planFanOut, planMatrix, planWaves, type CiEngine, type FanOut, type FanOutOptions } from '../../src/plan/plan-waves.ts';
import { chainFleet, flatFleet, fleetPlan, type FleetShape } from '../support/generated-fleet-plan.ts';

/** Everything the fan-out promises, checked against the shape it was made from; returns the problems found. */
function problemsOf(shape: FleetShape, fanOut: FanOut, options: FanOutOptions): string[] {
  const problems: string[] = [];
  const limit = matrixLimits[options.engine];
  for (const [index, matrix] of fanOut.matrices.entries()) if (matrix.length > limit || matrix.length === 0) problems.push(`matrix ${index + 1} has ${matrix.length} jobs`);
  if (
    fanOut.matrices
      .flat()
      .map((job) => job.job)
      .join() !== fanOut.jobs.map((job) => job.job).join()
  )
    problems.push('the matrices are not the jobs in order');
  if (options.perJob === undefined && fanOut.jobs.length > (options.maxJobs ?? limit)) problems.push(`${fanOut.jobs.length} jobs, over ${options.maxJobs ?? limit}`);
  if (options.perJob !== undefined)
    for (const job of fanOut.jobs) if (job.images.length > options.perJob) problems.push(`job ${job.job} has ${job.images.length} images, over --per-job ${options.perJob}`);
  const placed = new Map<string, { job: number; position: number }>();
  for (const job of fanOut.jobs) {
    for (const [position, image] of job.images.entries()) {
      if (placed.has(image)) problems.push(`${image} is in jobs ${placed.get(image)!.job} and ${job.job}`);
      placed.set(image, { job: job.job, position });
    }
  }
  for (const image of shape.keys()) if (!placed.has(image)) problems.push(`${image} is in no job`);
  for (const job of fanOut.jobs) {
    const expectedWaits = new Set<string>();
    for (const image of job.images) {
      const here = placed.get(image)!;
      for (const base of shape.get(image) ?? []) {
        const there = placed.get(base)!;
        if (there.job > here.job || (there.job === here.job && there.position > here.position)) problems.push(`${image} (job ${here.job}) comes before its base ${base} (job ${there.job})`);
        if (there.job !== here.job) expectedWaits.add(base);
      }
    }
    if ([...expectedWaits].sort().join() !== job.waitsFor.join()) problems.push(`job ${job.job} says it waits for ${job.waitsFor.join(' ')}, not ${[...expectedWaits].sort().join(' ')}`);
  }
  if (fanOut.images !== shape.size) problems.push(`counts ${fanOut.images} images, not ${shape.size}`);
  return problems;
}

/** A fleet of exactly `depth` levels: each image below the top is built on one to three images above it, one of them on the level just above. */
const fleetArbitrary = fc.integer({ min: 1, max: 8 }).chain((depth) =>
  fc
    .array(fc.integer({ min: 1, max: 60 }), { minLength: depth, maxLength: depth })
    .chain((widths) => {
      const levels = widths.map((width, level) => Array.from({ length: width }, (_, index) => `l${level}-i${index}`));
      const images = levels.flatMap((names, level) => names.map((name) => ({ name, level })));
      return fc.tuple(
        fc.constant(depth),
        fc.tuple(
          ...images.map(({ name, level }) =>
            level === 0
              ? fc.constant([name, []] as [string, string[]])
              : fc
                  .tuple(fc.constantFrom(...levels[level - 1]!), fc.uniqueArray(fc.constantFrom(...levels.slice(0, level).flat()), { maxLength: 2 }))
                  .map(([parent, others]) => [name, [...new Set([parent, ...others])]] as [string, string[]]),
          ),
        ),
      );
    })
    .map(([depth, entries]) => ({ depth, shape: new Map(entries) as FleetShape })),
);

const optionsArbitrary: fc.Arbitrary<FanOutOptions> = fc.oneof(
  fc.constantFrom<CiEngine>('github', 'gitlab').map((engine) => ({ engine })),
  fc.record({ engine: fc.constantFrom<CiEngine>('github', 'gitlab'), perJob: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ engine: fc.constantFrom<CiEngine>('github', 'gitlab'), maxJobs: fc.integer({ min: 1, max: 300 }) }),
);

describe('planFanOut over generated fleets', () => {
  it('fits every matrix to the engine, puts every image in one job, and orders every image after its bases across jobs', () => {
    fc.assert(
      fc.property(fleetArbitrary, optionsArbitrary, ({ depth, shape }, options) => {
        const fanOut = planFanOut(fleetPlan(shape, ['steady']), options);
        expect(problemsOf(shape, fanOut, options)).toEqual([]);
        expect(fanOut.depth).toBe(depth);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the checker honest: a job order that puts a dependant first is caught', () => {
    const shape = chainFleet(3);
    const fanOut = planFanOut(fleetPlan(shape), { engine: 'github', perJob: 1 });
    const [first, second, third] = fanOut.jobs as [FanOut['jobs'][number], FanOut['jobs'][number], FanOut['jobs'][number]];
    const jobs = [{ ...first, images: second.images }, { ...second, images: first.images }, third];
    expect(problemsOf(shape, { ...fanOut, jobs, matrices: [jobs] }, { engine: 'github', perJob: 1 })).toContain('chain-2 (job 1) comes before its base chain-1 (job 2)');
  });
});

describe('planFanOut at fleet sizes', () => {
  it.each([
    [300, 'github', 150, 2],
    [1000, 'github', 250, 4],
    [300, 'gitlab', 150, 2],
    [1000, 'gitlab', 200, 5],
  ] as const)('%i independent images on %s: %i jobs of %i images in one matrix', (count, engine, jobs, perJob) => {
    const shape = flatFleet(count);
    const fanOut = planFanOut(fleetPlan(shape), { engine });
    expect(problemsOf(shape, fanOut, { engine })).toEqual([]);
    expect([fanOut.jobs.length, fanOut.perJob, fanOut.matrices.length]).toEqual([jobs, perJob, 1]);
  });

  it('1,000 images one a job are four GitHub matrices and five GitLab ones', () => {
    const shape = flatFleet(1000);
    for (const [engine, matrices] of [
      ['github', [256, 256, 256, 232]],
      ['gitlab', [200, 200, 200, 200, 200]],
    ] as const) {
      const fanOut = planFanOut(fleetPlan(shape), { engine, perJob: 1 });
      expect(problemsOf(shape, fanOut, { engine, perJob: 1 })).toEqual([]);
      expect(fanOut.matrices.map((matrix) => matrix.length)).toEqual(matrices);
    }
  });

  it('keeps a chain in one job unless --per-job splits it, and then each piece waits for the one before', () => {
    const chain = fleetPlan(chainFleet(6));
    expect(planMatrix(chain)).toEqual({
      engine: 'github',
      images: 6,
      jobs: 1,
      perJob: 1,
      depth: 6,
      matrices: [{ include: [{ job: 1, images: 'chain-1 chain-2 chain-3 chain-4 chain-5 chain-6', waitsFor: '' }] }],
    });
    expect(planFanOut(chain, { engine: 'github', perJob: 2 }).jobs).toEqual([
      { job: 1, images: ['chain-1', 'chain-2'], waitsFor: [] },
      { job: 2, images: ['chain-3', 'chain-4'], waitsFor: ['chain-2'] },
      { job: 3, images: ['chain-5', 'chain-6'], waitsFor: ['chain-4'] },
    ]);
  });

  it('gives each dependant of a shared base its own job, waiting for the base, and leaves unchanged images out', () => {
    const tree = fleetPlan(
      new Map([
        ['base', []],
        ['api', ['base']],
        ['web', ['base']],
        ['tool', []],
      ]),
      ['steady'],
    );
    expect(planWaves(tree)).toEqual([
      ['base', 'tool'],
      ['api', 'web'],
    ]);
    expect(planFanOut(tree, { engine: 'github' }).jobs).toEqual([
      { job: 1, images: ['base'], waitsFor: [] },
      { job: 2, images: ['tool'], waitsFor: [] },
      { job: 3, images: ['api'], waitsFor: ['base'] },
      { job: 4, images: ['web'], waitsFor: ['base'] },
    ]);
    expect(planMatrix(fleetPlan(new Map()), { engine: 'github' })).toEqual({ engine: 'github', images: 0, jobs: 0, perJob: 1, depth: 0, matrices: [] });
  });
});
