/**
 * The steps `plan` and `run` take before and after their work, each a plain
 * function: read the `--base-ami` flags, start the emulator when asked for,
 * catch Ctrl-C, build the context, and turn an interruption into its exit code.
 */
import { mkdir } from 'node:fs/promises';
import type { CleanupRegistry } from '../cleanup.ts';
import { createContext, type Context, type RunOptions } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue, isGildError } from '../errors.ts';
import { startMotoServer, type MotoServer } from '../local/moto-server.ts';
import { awsProfile } from '../target/aws-profile.ts';
import { chooseTarget } from '../target/choose-target.ts';
import { emulatorProfile } from '../target/emulator-profile.ts';
import { prepareEmulator } from '../local/prepare-emulator.ts';
import { prepareTwins, removeRunTwins } from '../local/prepare-twins.ts';
import { startSsmStandIn, type SsmStandIn } from '../local/ssm-stand-in.ts';
import type { Logger } from '../logger.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import type { Io } from './io.ts';
import type { PipelineSettings } from '../settings/schema.ts';

export function parseBaseOverrides(values: readonly string[], known: readonly string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const value of values) {
    const match = /^([a-z][a-z0-9-]*)=(ami-[0-9a-f]{8,17})$/.exec(value);
    if (!match) throw catalogue.EUSAGE(`--base-ami "${value}" is not of the form <image>=<ami-id>, e.g. --base-ami web=ami-0123456789abcdef0.`);
    if (!known.includes(match[1]!)) throw catalogue.EUNKNOWNIMAGE([match[1]!], known);
    overrides[match[1]!] = match[2]!;
  }
  return overrides;
}

export interface Emulator {
  /** The environment the run's clients use: pointed at moto when one was started. */
  readonly env: Record<string, string | undefined>;
  readonly moto: MotoServer | undefined;
  /** The SSM Run Command stand-in in front of the emulator (src/local/ssm-stand-in.ts), when one was started. */
  readonly standIn?: SsmStandIn | undefined;
}

/**
 * `--local`: a moto server for this run only, the SSM Run Command stand-in in front of it, and the environment that
 * points the SDK at them. With GILD_TARGET=emulator the stand-in is put in front of the given endpoint only when
 * GILD_SSM_STAND_IN=1 (a test's own fault proxy may be answering Run Command there); otherwise the log says that
 * Run Command is answered by the endpoint as it is.
 */
export async function startEmulatorIfAsked(local: boolean, processEnv: Readonly<Record<string, string | undefined>>, logger: Logger): Promise<Emulator> {
  const env = { ...processEnv };
  const registrationDelayMs = Number(env.GILD_SSM_REGISTRATION_DELAY_MS ?? '') || undefined;
  if (!local) {
    if (env.GILD_TARGET !== 'emulator') return { env, moto: undefined };
    const upstream = env.AWS_ENDPOINT_URL;
    if (env.GILD_SSM_STAND_IN !== '1' || !upstream) {
      logger.info('emulator: Run Command is answered by the endpoint as it is (moto runs nothing and answers Success); set GILD_SSM_STAND_IN=1 to run smoke checks in container twins');
      return { env, moto: undefined };
    }
    const credentials = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } : undefined;
    const standIn = await startSsmStandIn({ upstream, searchPath: env.PATH ?? '', logger, credentials, ...(registrationDelayMs ? { registrationDelayMs } : {}) });
    Object.assign(env, { AWS_ENDPOINT_URL: standIn.endpoint });
    logger.info(`emulator: the SSM Run Command stand-in at ${standIn.endpoint} answers Run Command, in front of ${upstream}`);
    return { env, moto: undefined, standIn };
  }
  const moto = await startMotoServer();
  const standIn = await startSsmStandIn({ upstream: moto.endpoint, searchPath: env.PATH ?? '', logger, ...(registrationDelayMs ? { registrationDelayMs } : {}) });
  Object.assign(env, { AWS_ENDPOINT_URL: standIn.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: env.AWS_REGION ?? 'us-east-1' });
  delete env.AWS_ENDPOINT_URL_EC2;
  delete env.AWS_ENDPOINT_URL_SSM;
  delete env.AWS_PROFILE;
  logger.info(`local: started moto at ${moto.endpoint} for this run, and the SSM Run Command stand-in in front of it at ${standIn.endpoint}; they stop when gild exits`);
  return { env, moto, standIn };
}

export interface SignalHandlers {
  /** Aborted on the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  interruptedBy(): NodeJS.Signals | undefined;
  remove(): void;
}

/**
 * The first SIGINT or SIGTERM aborts the run, which unwinds by itself; a
 * second one calls `exitNow`, which should clean up and leave at once.
 */
export function installSignalHandlers(logger: Logger, exitNow: () => void): SignalHandlers {
  const controller = new AbortController();
  let interruptedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy) {
      logger.warn(`received ${signal} again: terminating what gild launched and exiting now`);
      exitNow();
      return;
    }
    interruptedBy = signal;
    // NOTE: the run unwinds by itself: waits stop, Packer is interrupted and removes its instance,
    // smoke instances are terminated, and a publish in progress finishes or rolls back. Exiting
    // here instead could leave `latest` updated in some regions only.
    logger.warn(`received ${signal}: stopping after cleanup (send it again to exit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    interruptedBy: () => interruptedBy,
    remove() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * The run's context: a region must be configured unless the endpoint is an
 * emulator, in which case the emulator is prepared for the images first.
 */
export async function createRunContext(input: {
  cwd: string;
  emulator: Emulator;
  logger: Logger;
  settings: PipelineSettings;
  images: readonly ResolvedImage[];
  options: Partial<RunOptions> & { baseOverrides: Readonly<Record<string, string>> };
  /** A saved plan's run ID: everything the run makes carries it. */
  runId?: string | undefined;
}): Promise<Context> {
  const { env, moto } = input.emulator;
  const target = chooseTarget({ startedEmulator: moto?.endpoint, env });
  const emulated = target.kind === 'emulator';
  const endpoint = emulated ? target.endpoint : undefined;
  if (!env.AWS_REGION && !env.AWS_DEFAULT_REGION && !emulated) throw catalogue.ENOENDPOINT();
  const profile = emulated ? emulatorProfile({ endpoint: endpoint!, why: target.why }) : awsProfile;
  // NOTE: said once, every run, so nobody mistakes an emulator run for a real one, or the other way round.
  input.logger.info(profile.announcement);
  let context = createContext({
    cwd: input.cwd,
    env: emulated ? { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', ...env } : env,
    logger: input.logger,
    settings: input.settings,
    options: input.options,
    target: profile,
    ...(input.runId ? { runId: input.runId } : {}),
  });
  if (emulated) {
    // The same profile, with the stand-in sources the emulator was prepared with; container twins are decided by
    // withContainerTwins, for a run that builds.
    const preparation = await prepareEmulator(endpoint!, context.clients, input.images, input.logger);
    context = {
      ...context,
      options: { ...context.options, baseOverrides: { ...preparation.baseOverrides, ...input.options.baseOverrides } },
      target: emulatorProfile({ endpoint: endpoint!, why: target.why, standInSources: preparation.standInSources }),
    };
  }
  await mkdir(context.workDir, { recursive: true });
  return context;
}

/**
 * The context a run that builds applies its plan with: on the emulator, the images' container twins decided (which
 * images get one, said in the log); elsewhere the context as it is. NOTE: only a build uses a twin, so a run decides
 * them once its plan has a build to apply, not before observing: deciding asks the container engines (`docker
 * version`, `podman version`, `image exists`), ~0.14 s of child processes with nothing else to do (no AWS call is
 * made meanwhile) that a no-op run, a dry run, plan, status, verify and the pointer commands never use.
 */
export async function withContainerTwins(context: Context, images: readonly ResolvedImage[]): Promise<Context> {
  if (context.target.name !== 'emulator') return context;
  const twins = await prepareTwins(images, context.env.PATH ?? '', context.logger);
  return { ...context, target: { ...context.target, twins } };
}

/**
 * What a dry run or `gild plan` (`planned`: which of them) on the emulator says of container twins, which it does not
 * decide (withContainerTwins runs when the plan is applied, and asks the engines then): that they are decided then, and
 * for which images the plan has a build step (only a build uses a twin). Nothing on AWS, or for a plan that builds
 * nothing (a run of it decides none either).
 */
export function twinsDecidedWhenApplied(context: Context, plan: RunPlan, planned: 'a dry run' | 'gild plan'): string | undefined {
  if (context.target.name !== 'emulator') return undefined;
  const building = [...new Set(plan.steps.flatMap((step) => (step.kind === 'build' ? [step.image] : [])))];
  if (building.length === 0) return undefined;
  return `twins: decided when the run applies its plan, not in ${planned} (no container engine was asked); the plan has a build step for ${building.join(', ')}`;
}

/** Ends a run: cleanups first (they need the clients), then the clients and the emulator. */
export async function finishRun(logger: Logger, cleanups: CleanupRegistry, context: Context | undefined, emulator: Emulator, handlers: SignalHandlers): Promise<void> {
  handlers.remove();
  await cleanups.runAll(logger);
  context?.clients.destroy();
  await emulator.standIn?.stop();
  if (context) await removeRunTwins(context.target.twins, context.runId, logger);
  await emulator.moto?.stop();
}

/** An interrupted run exits 130 (SIGINT) or 143 (SIGTERM), whatever its work returned or threw. */
export async function exitCodeUnlessInterrupted(handlers: SignalHandlers, logger: Logger, work: () => Promise<number>): Promise<number> {
  try {
    const code = await work();
    const signal = handlers.interruptedBy();
    return signal ? signalExitCode(signal) : code;
  } catch (error) {
    const signal = handlers.interruptedBy();
    if (signal) {
      logger.warn(`interrupted: ${isGildError(error) ? error.message : error instanceof Error ? error.message : String(error)}`);
      return signalExitCode(signal);
    }
    throw error;
  }
}

const signalExitCode = (signal: NodeJS.Signals) => (signal === 'SIGTERM' ? 143 : 130);

export function throwDefinitionErrors(plan: RunPlan): void {
  const problems = plan.images.flatMap((image) => (image.action === 'error' && image.kind === 'definition' ? [image.reason] : []));
  if (problems.length > 0) throw catalogue.EDEFINITIONS(problems);
}

/**
 * The plain trip of a command that works on some images in AWS without the run's extras: load the project, build
 * the context (target chosen and said), handle signals, and always finish (cleanups, clients).
 */
export async function withImagesInContext(
  io: Pick<Io, 'cwd' | 'env' | 'exit'>,
  logger: Logger,
  request: {
    readonly images: readonly string[];
    readonly local?: boolean;
    readonly force?: boolean;
    /** Also load every image built on the named ones, directly or not (a revoke marks and `--cascade` revokes them). */
    readonly withDependants?: boolean;
  },
  body: (context: Context, images: readonly ResolvedImage[], signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const { loadProject, selectImages } = await import('./load-project.ts');
  const { createCleanupRegistry } = await import('../cleanup.ts');
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  const named = selectImages(project.images, request.images);
  const images = request.withDependants ? withDependants(project.images, named) : named;
  const emulator = await startEmulatorIfAsked(request.local ?? false, io.env, logger);
  const cleanups = createCleanupRegistry();
  // A second signal: clean up what is registered, then go, without waiting.
  const handlers = installSignalHandlers(
    logger,
    () =>
      void cleanups.runAll(logger).finally(async () => {
        await emulator.standIn?.stop();
        await emulator.moto?.stop();
        io.exit(130);
      }),
  );
  let context: Context | undefined;
  try {
    context = await createRunContext({ cwd: io.cwd, emulator, logger, settings: project.settings, images, options: { force: request.force ?? false, baseOverrides: {} } });
    const ready = context;
    return await exitCodeUnlessInterrupted(handlers, logger, () => body(ready, images, handlers.signal));
  } finally {
    await finishRun(logger, cleanups, context, emulator, handlers);
  }
}

/** `selected` and every image that depends on one of them, directly or through another, in the project's order. */
export function withDependants(all: readonly ResolvedImage[], selected: readonly ResolvedImage[]): ResolvedImage[] {
  const names = new Set(selected.map((image) => image.name));
  for (let grew = true; grew;) {
    grew = false;
    for (const image of all) {
      if (names.has(image.name) || !image.dependsOn.some((base) => names.has(base))) continue;
      names.add(image.name);
      grew = true;
    }
  }
  return all.filter((image) => names.has(image.name));
}
