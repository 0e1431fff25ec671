/** `gild run`: build, smoke test, version, publish and retire images. */
import path from 'node:path';
import { packerVersion } from '../adapters/packer.ts';
import { getParametersByPath } from '../adapters/ssm.ts';
import { createCleanupRegistry } from '../cleanup.ts';
import type { Context } from '../context.ts';
import { catalogue } from '../errors.ts';
import { createPlan } from '../plan/create-plan.ts';
import { formatPlan } from '../plan/format-plan.ts';
import { imageParameterPath } from '../plan/parameter-names.ts';
import { runPipeline, type RunResult } from '../run-pipeline.ts';
import { sweepLeftovers } from '../stages/sweep-leftovers.ts';
import { createIoLogger, type Io } from './io.ts';
import { loadProject, selectImages } from './load-project.ts';
import { createRunContext, exitCodeUnlessInterrupted, finishRun, installSignalHandlers, parseBaseOverrides, startEmulatorIfAsked, throwDefinitionErrors } from './run-steps.ts';

export interface RunCommandOptions {
  /** Image names; all images when empty. */
  readonly images: readonly string[];
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly local: boolean;
  readonly showParameters: boolean;
  /** `--base-ami <image>=<ami>`, as given. */
  readonly baseAmi: readonly string[];
}

export async function run(options: RunCommandOptions, io: Io): Promise<number> {
  const logger = createIoLogger(io);
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  const images = selectImages(project.images, options.images);
  const baseOverrides = parseBaseOverrides(options.baseAmi, project.images.map((image) => image.name));
  const emulator = await startEmulatorIfAsked(options.local, io.env, logger);
  const cleanups = createCleanupRegistry();
  // A second signal: clean up what is registered, then go, without waiting for stages.
  const handlers = installSignalHandlers(logger, () => void cleanups.runAll(logger).finally(async () => {
    await emulator.moto?.stop();
    io.exit(130);
  }));
  let context: Context | undefined;
  try {
    context = await createRunContext({ cwd: io.cwd, emulator, logger, settings: project.settings, images, options: { force: options.force, dryRun: options.dryRun, baseOverrides } });
    const runContext = context;
    return await exitCodeUnlessInterrupted(handlers, logger, async () => {
      const plan = await createPlan(runContext, images);
      io.stdout(`Plan for run ${runContext.runId}:\n${formatPlan(plan)}\n\n`);
      // A definition the published state contradicts stops the run before anything is built.
      throwDefinitionErrors(plan);
      if (runContext.options.dryRun) {
        io.stdout('Dry run: nothing was changed.\n');
        return plan.images.some((image) => image.action === 'error') ? 1 : 0;
      }
      await packerVersion();
      await sweepLeftovers(runContext, [...new Set(images.flatMap((image) => image.regions))]);
      const result = await runPipeline(runContext, images, plan, { renderer: io.isTTY ? 'default' : 'simple', signal: handlers.signal, cleanups });
      io.stdout(formatOutcomes(result, runContext));
      if (options.showParameters) io.stdout(await formatParameters(runContext, images));
      const failed = result.outcomes.filter((outcome) => outcome.result === 'failed').map((outcome) => outcome.image);
      if (failed.length > 0) throw catalogue.EPIPELINE(failed);
      return 0;
    });
  } finally {
    await finishRun(logger, cleanups, context, emulator, handlers);
  }
}

function formatOutcomes(result: RunResult, context: Context): string {
  const lines = [`\nRun ${result.runId} (logs: ${path.relative(context.cwd, result.logDir)}/):`];
  for (const outcome of result.outcomes) {
    switch (outcome.result) {
      case 'published':
        lines.push(`  ✔ ${outcome.image} ${outcome.version} published`);
        for (const line of outcome.summary) lines.push(`      ${line}`);
        break;
      case 'unchanged':
        lines.push(`  = ${outcome.image} ${outcome.version ?? ''} unchanged: ${outcome.reason}`);
        break;
      case 'skipped':
        lines.push(`  - ${outcome.image} skipped: ${outcome.reason}`);
        break;
      case 'failed':
        lines.push(`  ✖ ${outcome.image} failed in ${outcome.stage}: ${outcome.reason}${outcome.logFile ? ` (log: ${path.relative(context.cwd, outcome.logFile)})` : ''}`);
        break;
    }
  }
  return `${lines.join('\n')}\n`;
}

async function formatParameters(context: Context, images: readonly { name: string; regions: readonly string[] }[]): Promise<string> {
  const lines = ['\nSSM parameters:'];
  for (const image of images) {
    for (const region of image.regions) {
      const parameters = await getParametersByPath(context.clients.ssm(region), imageParameterPath(context.settings.ssmPrefix, image.name));
      for (const parameter of parameters.sort((a, b) => a.name.localeCompare(b.name))) lines.push(`  ${region}  ${parameter.name} = ${parameter.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
