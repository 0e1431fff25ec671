/** `gild plan`: what `gild run` would do, step by step, and why. Reads AWS, changes nothing. */
import { planRun } from '../apply/run-trip.ts';
import { catalogue } from '../errors.ts';
import { formatRunPlan } from '../plan/format-run-plan.ts';
import { planMatrix } from '../plan/plan-waves.ts';
import { createIoLogger, type Io } from './io.ts';
import { throwDefinitionErrors, withImagesInContext } from './run-steps.ts';

export interface PlanOptions {
  /** Image names; all images when empty. */
  readonly images: readonly string[];
  readonly force: boolean;
  readonly local: boolean;
  /** The plan as JSON on stdout (what `gild run --plan` applies). */
  readonly json: boolean;
  /** The images to build in dependency waves, as GitHub Actions matrices. */
  readonly matrix?: boolean;
}

export async function plan(options: PlanOptions, io: Io): Promise<number> {
  if (options.json && options.matrix) throw catalogue.EUSAGE('--json and --matrix each print one document on stdout; pass one of them (save the plan and the matrix with two `gild plan` calls).');
  return withImagesInContext(io, createIoLogger(io), { images: options.images, dryRun: true, local: options.local, force: options.force }, async (context, images) => {
    const { plan: runPlan } = await planRun(context, images, { force: options.force, baseOverrides: context.options.baseOverrides });
    io.stdout(options.matrix ? `${JSON.stringify(planMatrix(runPlan))}\n` : options.json ? `${JSON.stringify(runPlan, null, 2)}\n` : `${formatRunPlan(runPlan)}\n`);
    throwDefinitionErrors(runPlan);
    return runPlan.images.some((image) => image.action === 'error') ? 1 : 0;
  });
}
