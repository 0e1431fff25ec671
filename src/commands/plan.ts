/** `gild plan`: what `gild run` would do, step by step, and why. Reads AWS, changes nothing. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { catalogue } from '../errors.ts';
import { formatRunPlan } from '../plan/format-run-plan.ts';
import { matrixLimits, planFanOut, planMatrix, type CiEngine, type FanOutOptions } from '../plan/plan-waves.ts';
import { renderGitLabChildPipeline } from '../plan/render-gitlab-pipeline.ts';
import { planSchemaVersion, type RunPlan } from '../plan/run-plan.ts';
import { createIoLogger, type Io } from './io.ts';

export interface PlanOptions {
  /** Image names; all images when empty. */
  readonly images: readonly string[];
  readonly force: boolean;
  readonly local: boolean;
  /** The plan as JSON on stdout (what `gild run --plan` applies). */
  readonly json: boolean;
  /** The images to build spread over CI jobs: GitHub Actions matrices, or a GitLab child pipeline. */
  readonly matrix?: boolean;
  /** `--engine`: github (default) or gitlab. */
  readonly engine?: string | undefined;
  /** `--per-job`, as given. */
  readonly perJob?: string | undefined;
  /** `--max-jobs`, as given. */
  readonly maxJobs?: string | undefined;
  /** `--from`: a plan saved with `gild plan --json`, fanned out without reading AWS. */
  readonly from?: string | undefined;
}

export async function plan(options: PlanOptions, io: Io): Promise<number> {
  if (options.json && options.matrix)
    throw catalogue.EUSAGE('--json and --matrix each print one document on stdout; pass one of them (save the plan with `gild plan --json > plan.json`, then `gild plan --matrix --from plan.json`).');
  const fanOut = fanOutOptions(options);
  if (options.from !== undefined) {
    if (!options.matrix) throw catalogue.EUSAGE('--from fans out a saved plan; it goes with --matrix (`gild plan --matrix --from plan.json`).');
    if (options.images.length > 0 || options.force || options.local)
      throw catalogue.EUSAGE('--from fans out the saved plan as it is; images, --force and --local belong to the `gild plan --json` that saved it.');
    io.stdout(printMatrix(await readPlanFile(io.cwd, options.from), fanOut));
    return 0;
  }
  // NOTE: loaded only to observe: `--from` fans out a saved plan and needs neither AWS's clients nor the definitions.
  const [{ planRun }, { throwDefinitionErrors, twinsDecidedWhenApplied, withImagesInContext }] = await Promise.all([import('../apply/run-trip.ts'), import('./run-steps.ts')]);
  return withImagesInContext(io, createIoLogger(io), { images: options.images, local: options.local, force: options.force }, async (context, images) => {
    const { plan: runPlan } = await planRun(context, images, { force: options.force, baseOverrides: context.options.baseOverrides });
    io.stdout(options.matrix ? printMatrix(runPlan, fanOut) : options.json ? `${JSON.stringify(runPlan, null, 2)}\n` : `${formatRunPlan(runPlan)}\n`);
    // As `gild run --dry-run` says: on the emulator, the plan's builds get their container twins only when it is applied.
    const twinsLater = twinsDecidedWhenApplied(context, runPlan, 'gild plan');
    if (twinsLater) context.logger.info(twinsLater);
    throwDefinitionErrors(runPlan);
    return runPlan.images.some((image) => image.action === 'error') ? 1 : 0;
  });
}

function printMatrix(runPlan: RunPlan, options: FanOutOptions): string {
  return options.engine === 'gitlab' ? renderGitLabChildPipeline(planFanOut(runPlan, options)) : `${JSON.stringify(planMatrix(runPlan, options))}\n`;
}

function fanOutOptions(options: PlanOptions): FanOutOptions {
  const engine = options.engine ?? 'github';
  if (!Object.hasOwn(matrixLimits, engine)) throw catalogue.EUSAGE(`--engine ${engine}: gild fans out over ${Object.keys(matrixLimits).join(' or ')}; pass one of them.`);
  const given = [options.perJob !== undefined ? '--per-job' : undefined, options.maxJobs !== undefined ? '--max-jobs' : undefined].filter((flag) => flag !== undefined);
  if (!options.matrix && (given.length > 0 || options.engine !== undefined))
    throw catalogue.EUSAGE(`${[...given, ...(options.engine !== undefined ? ['--engine'] : [])].join(' and ')} shape the fan-out; they go with --matrix.`);
  if (given.length === 2) throw catalogue.EUSAGE('--per-job and --max-jobs each choose how many images a job builds; pass one of them.');
  const perJob = positiveInteger('--per-job', options.perJob);
  const maxJobs = positiveInteger('--max-jobs', options.maxJobs);
  return { engine: engine as CiEngine, ...(perJob !== undefined ? { perJob } : {}), ...(maxJobs !== undefined ? { maxJobs } : {}) };
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,6}$/.test(value)) throw catalogue.EUSAGE(`${flag} ${value}: give a whole number from 1 to 9999999 (e.g. ${flag} 4).`);
  return Number(value);
}

async function readPlanFile(cwd: string, file: string): Promise<RunPlan> {
  let text: string;
  try {
    text = await readFile(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    throw catalogue.EUSAGE(`--from ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}). Save a plan with \`gild plan --json > ${file}\`.`);
  }
  let parsed: Partial<RunPlan> | undefined;
  try {
    parsed = JSON.parse(text) as Partial<RunPlan>;
  } catch {
    throw catalogue.EUSAGE(`--from ${file}: it is not JSON. Save a plan with \`gild plan --json > ${file}\`.`);
  }
  // NOTE: only what the fan-out reads is checked here; `gild run --plan` checks the whole plan against AWS before applying it.
  const stepsWellFormed =
    Array.isArray(parsed?.steps) && parsed.steps.every((step) => typeof step?.id === 'string' && Array.isArray(step.after) && (step.after as unknown[]).every((id) => typeof id === 'string'));
  const imagesWellFormed = Array.isArray(parsed?.images) && parsed.images.every((decision) => typeof decision?.image === 'string' && typeof decision.action === 'string');
  if (!parsed || parsed.schema !== planSchemaVersion || !stepsWellFormed || !imagesWellFormed) {
    throw catalogue.EUSAGE(`--from ${file}: it is not a gild plan (schema ${planSchemaVersion}). Make one with \`gild plan --json > ${file}\`.`);
  }
  return parsed as RunPlan;
}
