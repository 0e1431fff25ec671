/** `gild plan`: what `gild run` would do, and why. Reads AWS, changes nothing. */
import { createCleanupRegistry } from '../cleanup.ts';
import type { Context } from '../context.ts';
import { createPlan } from '../plan/create-plan.ts';
import { formatPlan } from '../plan/format-plan.ts';
import { createIoLogger, type Io } from './io.ts';
import { loadProject, selectImages } from './load-project.ts';
import { createRunContext, exitCodeUnlessInterrupted, finishRun, installSignalHandlers, startEmulatorIfAsked, throwDefinitionErrors } from './run-steps.ts';

export interface PlanOptions {
  /** Image names; all images when empty. */
  readonly images: readonly string[];
  readonly force: boolean;
  readonly local: boolean;
}

export async function plan(options: PlanOptions, io: Io): Promise<number> {
  const logger = createIoLogger(io);
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  const images = selectImages(project.images, options.images);
  const emulator = await startEmulatorIfAsked(options.local, io.env, logger);
  const cleanups = createCleanupRegistry();
  // A second signal: clean up what is registered, then go, without waiting.
  const handlers = installSignalHandlers(logger, () => void cleanups.runAll(logger).finally(async () => {
    await emulator.moto?.stop();
    io.exit(130);
  }));
  let context: Context | undefined;
  try {
    context = await createRunContext({ cwd: io.cwd, emulator, logger, settings: project.settings, images, options: { force: options.force, dryRun: true, baseOverrides: {} } });
    const runContext = context;
    return await exitCodeUnlessInterrupted(handlers, logger, async () => {
      const runPlan = await createPlan(runContext, images);
      io.stdout(`${formatPlan(runPlan)}\n`);
      throwDefinitionErrors(runPlan);
      return runPlan.images.some((image) => image.action === 'error') ? 1 : 0;
    });
  } finally {
    await finishRun(logger, cleanups, context, emulator, handlers);
  }
}
