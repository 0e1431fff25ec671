/**
 * Throw-away projects and a silent context for in-process runs, built the way
 * src/cli.ts builds them, so that the benchmarks measure what `gild run` does.
 */
import { mkdir } from 'node:fs/promises';
import { createContext, type Context, type RunOptions } from '../../src/context.ts';
import { loadProject, type Project } from '../../src/commands/load-project.ts';
import { createLogger } from '../../src/logger.ts';
import { prepareEmulator } from '../../src/local/prepare-emulator.ts';
import type { PipelineSettings } from '../../src/settings/schema.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';
import type { MotoServer } from '../support/moto.ts';

export const silentLogger = createLogger(() => {});

/** `count` small independent images named `<prefix>-01`, `<prefix>-02`, …, each built and copied nowhere else. */
export async function createBenchProject(prefix: string, count: number): Promise<TempProject> {
  const images: Record<string, string> = {};
  for (let index = 1; index <= count; index++) {
    const name = `${prefix}-${String(index).padStart(2, '0')}`;
    images[`${name}.ts`] = imageSource({ name, regions: "{ build: 'us-east-1' }" });
  }
  return createTempProject({ images });
}

/**
 * The context `gild run --force` would build against the emulator, with the
 * emulator preparation (stand-in bases, instance profiles) cli.ts applies.
 */
export async function createEmulatorContext(dir: string, project: Project, moto: MotoServer, settings: Partial<PipelineSettings> = {}, options: Partial<RunOptions> = {}): Promise<Context> {
  const context = createContext({ cwd: dir, env: moto.env, logger: silentLogger, settings: { ...project.settings, ...settings }, options });
  const preparation = await prepareEmulator(moto.endpoint, context.clients, project.images, silentLogger);
  await mkdir(context.workDir, { recursive: true });
  return {
    ...context,
    options: { ...context.options, baseOverrides: { ...preparation.baseOverrides, ...context.options.baseOverrides }, emulator: { endpoint: moto.endpoint, standInSources: preparation.standInSources } },
  };
}

export { loadProject };
