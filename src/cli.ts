/**
 * gild's command line. The only module that exits: it maps catalogue errors to
 * exit codes (2 for usage and definition errors, 1 for pipeline failures),
 * prints them plainly, and prints the stack of anything unexpected.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { packerValidate, packerVersion } from './adapters/packer.ts';
import { getParameter, getParametersByPath } from './adapters/ssm.ts';
import { createCleanupRegistry } from './cleanup.ts';
import { iamPolicyCommand } from './commands/iam-policy.ts';
import { loadProject, selectImages } from './commands/load-project.ts';
import { createContext, type Context, type RunOptions } from './context.ts';
import { catalogue, isGildError, type GildError } from './errors.ts';
import { createLogger, maskSecrets, type Logger } from './logger.ts';
import { isMoto, startMotoServer, type MotoServer } from './local/moto-server.ts';
import { prepareEmulator } from './local/prepare-emulator.ts';
import { formatRunPlan } from './plan/format-run-plan.ts';
import type { RunPlan } from './plan/run-plan.ts';
import type { ResolvedImage } from './definition/resolved-image.ts';
import { imageParameterPath, latestParameterName, versionParameterName } from './plan/parameter-names.ts';
import { renderImage } from './render/render-template.ts';
import { applyRun, checkSavedPlan, planRun, type ImageOutcome } from './apply/run-trip.ts';
import { createLifecycle } from './stages/lifecycle.ts';
import { readFile } from 'node:fs/promises';
import type { PipelineSettings } from './settings/schema.ts';

interface Io {
  readonly cwd: string;
  readonly env: Record<string, string | undefined>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly isTTY: boolean;
}

const defaultIo = (): Io => ({
  cwd: process.cwd(),
  env: { ...process.env },
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stdout.isTTY),
});

const exitCodes = { usage: 2, definition: 2, pipeline: 1 } as const;

/** Placeholder base for `render` and `validate`, which must work without AWS. */
const placeholderAmi = 'ami-00000000000000000';

export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<never> {
  const code = await runCli(argv, io);
  process.exit(code);
}

/** Runs a gild command and returns the exit code (tests call this directly). */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const logger = createLogger((level, line) => io.stderr(`${level === 'warn' ? 'warning: ' : ''}${line}\n`));
  let exitCode = 0;
  const program = new Command('gild')
    .description('Golden-image pipeline: images as code → Packer → smoke test → semver → SSM Parameter Store → retire')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError(true);

  program
    .command('validate')
    .description('check every image definition and the pipeline settings; runs `packer validate` when Packer is installed')
    .action(async () => {
      exitCode = await validateCommand(io, logger);
    });

  program
    .command('plan')
    .description('show what `gild run` would do, step by step, and why (reads AWS, changes nothing)')
    .argument('[images...]', 'image names (default: all)')
    .option('--force', 'plan rebuilds even for unchanged images', false)
    .option('--local', 'plan against a fresh local emulator', false)
    .option('--json', 'print the plan as JSON on stdout (what `gild run --plan` applies); everything else goes to stderr', false)
    .action(async (names: string[], flags: { force: boolean; local: boolean; json: boolean }) => {
      exitCode = await withContext(io, logger, { names, force: flags.force, local: flags.local, dryRun: true, baseAmi: [] }, async (context, images) => {
        const { plan } = await planRun(context, images, { force: context.options.force, baseOverrides: context.options.baseOverrides });
        io.stdout(flags.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatRunPlan(plan)}\n`);
        throwDefinitionErrors(plan);
        return plan.images.some((image) => image.action === 'error') ? 1 : 0;
      });
    });

  program
    .command('render')
    .description('write the Packer folder for one image (accepted by `packer validate`)')
    .argument('<image>', 'image name')
    .requiredOption('--out <dir>', 'output folder')
    .option('--base-ami <ami>', 'source AMI to render (default: a placeholder)')
    .option('--local-endpoint <url>', 'render for the emulator at this endpoint')
    .action(async (name: string, flags: { out: string; baseAmi?: string; localEndpoint?: string }) => {
      const project = await loadProject(io.cwd);
      const [image] = selectImages(project.images, [name]);
      const rendered = await renderOffline(io.cwd, image!, path.resolve(io.cwd, flags.out), await packerVersion(), {
        baseAmiId: flags.baseAmi,
        emulatorEndpoint: flags.localEndpoint,
        logger,
      });
      io.stdout(`${rendered.files.map((file) => path.relative(io.cwd, file)).join('\n')}\n`);
    });

  program
    .command('run')
    .description('build, smoke test, version, publish and retire images, exactly as the plan says')
    .argument('[images...]', 'image names (default: all)')
    .option('--force', 'rebuild even when nothing changed', false)
    .option('--dry-run', 'print the plan and stop before changing anything', false)
    .option('--local', 'run against a moto emulator started for this run', false)
    .option('--plan <file>', 'apply a plan saved with `gild plan --json` instead of making one (refused if the world moved since)')
    .option('--show-parameters', 'print the published SSM parameters at the end', false)
    .addOption(new Option('--base-ami <image=ami>', 'use this base AMI for an image instead of resolving it').argParser((value: string, previous: string[] = []) => [...previous, value]).default([]))
    .action(async (names: string[], flags: { force: boolean; dryRun: boolean; local: boolean; plan?: string; showParameters: boolean; baseAmi: string[] }) => {
      exitCode = await withContext(io, logger, { names, force: flags.force, local: flags.local, dryRun: flags.dryRun, baseAmi: flags.baseAmi, runId: flags.plan ? await savedPlanRunId(io.cwd, flags.plan) : undefined }, async (context, images, cleanups, signal) => {
        const planOptions = { force: context.options.force, baseOverrides: context.options.baseOverrides };
        const plan = flags.plan ? await checkSavedPlan(context, await readSavedPlan(io.cwd, flags.plan), images, planOptions) : (await planRun(context, images, planOptions)).plan;
        io.stdout(`Plan for run ${plan.runId}:\n${formatRunPlan(plan)}\n\n`);
        // A definition the published state contradicts stops the run before anything is built.
        throwDefinitionErrors(plan);
        if (context.options.dryRun) {
          io.stdout('Dry run: nothing was changed.\n');
          return plan.images.some((image) => image.action === 'error') ? 1 : 0;
        }
        const { applied, outcomes } = await applyRun(context, plan, images, {
          stages: createLifecycle(context),
          signal,
          cleanups,
          onProgress: (image, line) => logger.info(`${image ?? 'run'}: ${line}`),
          ...(flags.plan && names.length > 0 ? { only: names } : {}),
        });
        io.stdout(formatOutcomes(plan.runId, applied.runDir, outcomes, context));
        if (flags.showParameters) io.stdout(await formatParameters(context, images));
        const failed = outcomes.filter((outcome) => outcome.result === 'failed' || (flags.plan && outcome.result === 'yielded')).map((outcome) => outcome.image);
        if (failed.length > 0) throw catalogue.EPIPELINE(failed);
        return 0;
      });
    });

  program
    .command('unlock')
    .description("remove an image's lock, after checking that no live run holds it (or with --force, whoever holds it)")
    .argument('<image>', 'image name')
    .option('--yes', 'confirm: remove it', false)
    .option('--force', 'remove it even if its owner looks alive', false)
    .action(async (name: string, flags: { yes: boolean; force: boolean }) => {
      exitCode = await withContext(io, logger, { names: [name], force: false, local: false, dryRun: false, baseAmi: [] }, async (context, images) => {
        const { unlockImage } = await import('./apply/unlock-image.ts');
        const line = await unlockImage(context, images[0]!, { confirmed: flags.yes, force: flags.force });
        io.stdout(`${line}\n`);
        return 0;
      });
    });

  program
    .command('retire')
    .description('retire old versions now, as the retention policy says, without building anything')
    .argument('[images...]', 'image names (default: all)')
    .option('--dry-run', 'print the plan and stop before changing anything', false)
    .action(async (names: string[], flags: { dryRun: boolean }) => {
      exitCode = await withContext(io, logger, { names, force: false, local: false, dryRun: flags.dryRun, baseAmi: [] }, async (context, images, _cleanups, signal) =>
        (await import('./commands/retire.ts')).retireCommand(context, images, signal, { stdout: io.stdout, progress: (image, line) => logger.info(`${image ?? 'retire'}: ${line}`) }),
      );
    });

  const changePointer = (name: string, dryRun: boolean, change: import('./plan/plan-pointer-change.ts').PointerChange) =>
    withContext(io, logger, { names: [name], force: false, local: false, dryRun, baseAmi: [] }, async (context, images, _cleanups, signal) =>
      (await import('./commands/change-pointer.ts')).changePointerCommand(context, images[0]!, change, signal, { stdout: io.stdout, progress: (image, line) => logger.info(`${image ?? name}: ${line}`) }),
    );
  const pointerOf = (channel: string | undefined) => (channel === undefined || channel === 'latest' ? 'latest' : `channels/${channel}`);

  program
    .command('promote')
    .description('move a channel to a published version (default: the one latest points to)')
    .argument('<image>', 'image name')
    .requiredOption('--to <channel>', 'the channel, as declared in pipeline/settings.ts')
    .option('--version <version>', 'the version to promote (default: the one latest points to)')
    .option('--dry-run', 'print the plan and stop before changing anything', false)
    .action(async (name: string, flags: { to: string; version?: string; dryRun: boolean }) => {
      exitCode = await changePointer(name, flags.dryRun, { kind: 'promote', channel: flags.to, version: flags.version });
    });

  program
    .command('rollback')
    .description('move latest (or a channel) back to the previous good version, or the one given, and hold it there')
    .argument('<image>', 'image name')
    .option('--channel <channel>', 'latest or a channel', 'latest')
    .option('--to <version>', 'the version to roll back to (default: the newest good one older than now)')
    .requiredOption('--reason <text>', 'why: shown in every plan while the hold lasts')
    .option('--dry-run', 'print the plan and stop before changing anything', false)
    .action(async (name: string, flags: { channel: string; to?: string; reason: string; dryRun: boolean }) => {
      exitCode = await changePointer(name, flags.dryRun, { kind: 'rollback', pointer: pointerOf(flags.channel), to: flags.to, reason: flags.reason });
    });

  program
    .command('release')
    .description('remove the hold a rollback put on latest (or a channel), so runs move it again')
    .argument('<image>', 'image name')
    .option('--channel <channel>', 'latest or a channel', 'latest')
    .option('--dry-run', 'print the plan and stop before changing anything', false)
    .action(async (name: string, flags: { channel: string; dryRun: boolean }) => {
      exitCode = await changePointer(name, flags.dryRun, { kind: 'release', pointer: pointerOf(flags.channel) });
    });

  program
    .command('revoke')
    .description('pull a version everywhere: every pointer naming it moves to the newest good version, and its AMIs are marked revoked and deprecated')
    .argument('<image>', 'image name')
    .argument('<version>', 'the version to revoke')
    .requiredOption('--reason <text>', 'why: recorded on the AMIs and shown in plans and history')
    .option('--disable', 'also disable the AMIs (launches fail until re-enabled)', false)
    .option('--dry-run', 'print the plan and stop before changing anything', false)
    .action(async (name: string, version: string, flags: { reason: string; disable: boolean; dryRun: boolean }) => {
      exitCode = await changePointer(name, flags.dryRun, { kind: 'revoke', version, reason: flags.reason, disable: flags.disable });
    });

  program
    .command('history')
    .description('every version ever published: AMIs per region, build facts, smoke verdict, promotions, rollbacks, revocations, retirement')
    .argument('<image>', 'image name')
    .option('--json', 'print it as JSON', false)
    .action(async (name: string, flags: { json: boolean }) => {
      exitCode = await withContext(io, logger, { names: [name], force: false, local: false, dryRun: true, baseAmi: [] }, async (context, images) =>
        (await import('./commands/history.ts')).historyCommand(context, images[0]!, flags, io),
      );
    });

  program
    .command('resolve')
    .description('print the AMI ID an image resolves to, from SSM Parameter Store')
    .argument('<image>', 'image name')
    .option('--region <region>', 'region (default: the image\'s build region)')
    .option('--version <version>', 'a published version instead of latest')
    .action(async (name: string, flags: { region?: string; version?: string }) => {
      const project = await loadProject(io.cwd);
      const [image] = selectImages(project.images, [name]);
      const region = flags.region ?? image!.buildRegion;
      const context = createContext({ cwd: io.cwd, env: io.env, logger, settings: project.settings });
      const parameterName = flags.version ? versionParameterName(project.settings.ssmPrefix, name, flags.version) : latestParameterName(project.settings.ssmPrefix, name);
      const parameter = await getParameter(context.clients.ssm(region), parameterName);
      if (!parameter) throw catalogue.ENOTPUBLISHED(name, parameterName, region);
      io.stdout(`${parameter.value}\n`);
    });

  program
    .command('iam-policy')
    .description('print the least-privilege IAM policy for the pipeline role (reads no AWS)')
    .option('--json', 'print only the policy document', false)
    .addOption(new Option('--assume-role <arn>', 'a distribution-account role gild assumes (repeatable)').argParser((value: string, previous: string[] = []) => [...previous, value]).default([]))
    .action(async (flags: { json: boolean; assumeRole: string[] }) => {
      exitCode = await iamPolicyCommand(flags, io);
    });

  try {
    await program.parseAsync(['node', 'gild', ...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      return 2;
    }
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: Io): number {
  if (isGildError(error)) {
    io.stderr(`${maskSecrets(formatGildError(error))}\n`);
    return exitCodes[error.kind];
  }
  io.stderr(`gild: internal error (please report it):\n${maskSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
  return 1;
}

function formatGildError(error: GildError): string {
  return [`gild: ${error.message}`, ...error.details.map((detail) => `  - ${detail}`)].join('\n');
}

interface ContextRequest {
  readonly names: readonly string[];
  readonly force: boolean;
  readonly local: boolean;
  readonly dryRun: boolean;
  readonly baseAmi: readonly string[];
  /** The run ID of a saved plan being applied, so everything it makes carries that run's ID. */
  readonly runId?: string | undefined;
}

/**
 * Builds the context once for `plan` and `run`: settings, definitions, the
 * emulator when asked for or detected, signal handling, and teardown.
 */
async function withContext(
  io: Io,
  logger: Logger,
  request: ContextRequest,
  body: (context: Context, images: ReturnType<typeof selectImages>, cleanups: ReturnType<typeof createCleanupRegistry>, signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  const images = selectImages(project.images, request.names);
  const baseOverrides = parseBaseOverrides(request.baseAmi, project.images.map((image) => image.name));

  let moto: MotoServer | undefined;
  const env = { ...io.env };
  if (request.local) {
    moto = await startMotoServer();
    Object.assign(env, { AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: env.AWS_REGION ?? 'us-east-1' });
    delete env.AWS_ENDPOINT_URL_EC2;
    delete env.AWS_ENDPOINT_URL_SSM;
    delete env.AWS_PROFILE;
    logger.info(`local: started moto at ${moto.endpoint} for this run; it stops when gild exits`);
  }
  const controller = new AbortController();
  const cleanups = createCleanupRegistry();
  let context: Context | undefined;
  let interruptedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interruptedBy) {
      // A second signal: clean up what is registered, then go, without waiting for stages.
      logger.warn(`received ${signal} again: terminating what gild launched and exiting now`);
      void cleanups.runAll(logger).finally(async () => {
        await moto?.stop();
        process.exit(130);
      });
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
  try {
    const endpoint = env.AWS_ENDPOINT_URL_EC2 ?? env.AWS_ENDPOINT_URL;
    const emulated = endpoint !== undefined && (moto !== undefined || (await isMoto(endpoint)));
    if (!env.AWS_REGION && !env.AWS_DEFAULT_REGION && !emulated) throw catalogue.ENOENDPOINT();
    if (emulated && !moto) logger.info(`${endpoint} is a moto emulator: rendering for it (no provisioners, communicator none)`);
    const options: Partial<RunOptions> = { force: request.force, dryRun: request.dryRun, baseOverrides };
    context = createContext({ cwd: io.cwd, env: emulated ? { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', ...env } : env, logger, settings: project.settings, options, ...(request.runId ? { runId: request.runId } : {}) });
    if (emulated) {
      const preparation = await prepareEmulator(endpoint!, context.clients, images, logger);
      context = {
        ...context,
        options: { ...context.options, baseOverrides: { ...preparation.baseOverrides, ...baseOverrides }, emulator: { endpoint: endpoint!, standInSources: preparation.standInSources } },
      };
    }
    await mkdir(context.workDir, { recursive: true });
    try {
      const code = await body(context, images, cleanups, controller.signal);
      return interruptedBy ? signalExitCode(interruptedBy) : code;
    } catch (error) {
      if (interruptedBy) {
        logger.warn(describeInterruption(error));
        return signalExitCode(interruptedBy);
      }
      throw error;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanups.runAll(logger);
    context?.clients.destroy();
    await moto?.stop();
  }
}

function throwDefinitionErrors(plan: RunPlan): void {
  const problems = plan.images.flatMap((image) => (image.action === 'error' && image.kind === 'definition' ? [image.reason] : []));
  if (problems.length > 0) throw catalogue.EDEFINITIONS(problems);
}

const signalExitCode = (signal: NodeJS.Signals) => (signal === 'SIGTERM' ? 143 : 130);

function describeInterruption(error: unknown): string {
  return `interrupted: ${isGildError(error) ? error.message : error instanceof Error ? error.message : String(error)}`;
}

function parseBaseOverrides(values: readonly string[], known: readonly string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const value of values) {
    const match = /^([a-z][a-z0-9-]*)=(ami-[0-9a-f]{8,17})$/.exec(value);
    if (!match) throw catalogue.EUSAGE(`--base-ami "${value}" is not of the form <image>=<ami-id>, e.g. --base-ami web=ami-0123456789abcdef0.`);
    if (!known.includes(match[1]!)) throw catalogue.EUNKNOWNIMAGE([match[1]!], known);
    overrides[match[1]!] = match[2]!;
  }
  return overrides;
}

/**
 * Renders an image without AWS, for `render` and `validate`: the base AMI is a
 * placeholder unless given, and the tags are the definition's plus gild's name
 * and version, since there is no run to tag.
 */
function renderOffline(
  cwd: string,
  image: ResolvedImage,
  outDir: string,
  packer: Awaited<ReturnType<typeof packerVersion>>,
  options: { baseAmiId?: string | undefined; emulatorEndpoint?: string | undefined; logger?: Logger },
) {
  return renderImage(image, {
    outDir,
    templatesDir: path.join(cwd, 'templates'),
    baseAmiId: options.baseAmiId ?? placeholderAmi,
    amiName: `${image.name}-${image.version}-rendered`,
    tags: { ...image.tags, 'gild:image': image.name, 'gild:version': image.version },
    runTags: { 'gild:image': image.name, 'gild:role': 'build' },
    packer,
    ...(options.emulatorEndpoint ? { emulator: { endpoint: options.emulatorEndpoint } } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

async function validateCommand(io: Io, logger: Logger): Promise<number> {
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  let packer;
  try {
    packer = await packerVersion();
  } catch {
    io.stdout(`${project.images.length} image definitions are valid. Packer is not installed, so the rendered templates were not checked with \`packer validate\`.\n`);
    return 0;
  }
  const problems: string[] = [];
  const scratch = path.join(io.cwd, '.gild', 'validate');
  for (const image of project.images) {
    const rendered = await renderOffline(io.cwd, image, path.join(scratch, image.name), packer, {});
    const result = await packerValidate(rendered.dir);
    if (!result.ok) problems.push(`${image.file}: packer validate (Packer ${packer.major}.${packer.minor}.${packer.patch}) rejected the rendered template: ${result.output.trim().split("\n").slice(-3).join(" ")}`);
  }
  if (problems.length > 0) throw catalogue.EDEFINITIONS(problems);
  io.stdout(`${project.images.length} image definitions are valid, and Packer ${packer.major}.${packer.minor}.${packer.patch} accepts every rendered template.\n`);
  return 0;
}

function formatOutcomes(runId: string, runDir: string, outcomes: readonly ImageOutcome[], context: Context): string {
  const lines = [`\nRun ${runId} (logs: ${path.relative(context.cwd, runDir)}/):`];
  for (const outcome of outcomes) {
    switch (outcome.result) {
      case 'published':
        lines.push(`  ✔ ${outcome.image} ${outcome.version} published`);
        break;
      case 'unchanged':
        lines.push(`  = ${outcome.image} ${outcome.version ?? ''} unchanged: ${outcome.reason}`);
        break;
      case 'yielded':
        lines.push(`  # ${outcome.image} left alone: ${outcome.reason}`);
        break;
      case 'skipped':
        lines.push(`  - ${outcome.image} skipped: ${outcome.reason}`);
        break;
      case 'interrupted':
        lines.push(`  ! ${outcome.image} interrupted: ${outcome.reason}`);
        break;
      case 'failed':
        lines.push(`  ✖ ${outcome.image} failed in ${outcome.stage}: ${outcome.reason}${outcome.logFile ? ` (log: ${path.relative(context.cwd, outcome.logFile)})` : ''}`);
        for (const detail of outcome.details) lines.push(`      - ${detail}`);
        break;
    }
    if (outcome.result !== 'skipped') for (const line of outcome.summary) lines.push(`      ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The run ID inside a saved plan (read early: the run's context carries it). */
async function savedPlanRunId(cwd: string, file: string): Promise<string | undefined> {
  const plan = await readSavedPlan(cwd, file);
  return typeof (plan as { runId?: unknown })?.runId === 'string' ? (plan as { runId: string }).runId : undefined;
}

async function readSavedPlan(cwd: string, file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path.resolve(cwd, file), 'utf8');
  } catch (error) {
    throw catalogue.EUSAGE(`--plan ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}). Save a plan with \`gild plan --json > ${file}\`.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw catalogue.EUSAGE(`--plan ${file}: it is not JSON. Save a plan with \`gild plan --json > ${file}\`.`);
  }
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

export type { PipelineSettings };
