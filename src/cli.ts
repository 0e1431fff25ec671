/**
 * gild's command line, and the only module that exits. It parses arguments,
 * loads the one command module it runs, and maps what that command returns or
 * throws to an exit code: 2 for usage and definition errors, 1 for pipeline
 * failures, and the stack of anything unexpected.
 *
 * NOTE: start-up time is the budget here. This file imports commander and two
 * small modules only; each command is `import()`ed when it runs, so `--help`
 * and argument errors load no AWS SDK, listr2, handlebars, execa or zod.
 */
// NOTE: commander is bundled into the command line (src/bin/build-engine.js), so that it is compiled with the code
// cache like the rest of it; required from node_modules, it was compiled afresh by every gild process.
import { Command, CommanderError, Option } from 'commander';
import type { Io } from './commands/io.ts';
import { isGildError, type GildError } from './errors.ts';
import { maskSecrets } from './logger.ts';

export type { Io };

const exitCodes = { usage: 2, definition: 2, pipeline: 1 } as const;

interface CommandEntry {
  readonly name: string;
  /** Description, arguments and options, in commander's terms. */
  readonly declare: (command: Command) => Command;
  /** Loads the command's module and runs it with the parsed arguments (positional first, then the options). */
  readonly run: (io: Io, args: readonly unknown[], flags: Record<string, unknown>, argv: readonly string[]) => Promise<number>;
}

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

const reportJsonHelp = 'print the report (report.json) on stdout; everything else goes to stderr';
/** A changing command's text goes to stdout, or to stderr under `--json`, where stdout carries only the report. */
const reportIo = (io: Io, flags: Record<string, unknown>, argv: readonly string[]) => ({ stdout: flags.json ? io.stderr : io.stdout, argv, printReport: flags.json ? io.stdout : undefined });

// NOTE: one row per command, so that adding a command is adding a row.
const commandTable: readonly CommandEntry[] = [
  {
    name: 'validate',
    declare: (command) => command.description('check every image definition and the pipeline settings; runs `packer validate` when Packer is installed'),
    run: async (io) => (await import('./commands/validate.ts')).validate({}, io),
  },
  {
    name: 'doctor',
    declare: (command) =>
      command
        .description('ask the account, with the credentials the nightly uses, whether it gives a run everything it needs (reads only; exit 1 when something is missing)')
        .option('--json', 'print the checks as JSON on stdout', false),
    run: async (io, _args, flags) => (await import('./commands/doctor.ts')).doctor({ json: flags.json as boolean }, io),
  },
  {
    name: 'plan',
    declare: (command) =>
      command
        .description('show what `gild run` would do, step by step, and why (reads AWS, changes nothing)')
        .argument('[images...]', 'image names (default: all)')
        .option('--force', 'plan rebuilds even for unchanged images', false)
        .option('--local', 'plan against a fresh local emulator', false)
        .option('--json', 'print the plan as JSON on stdout (what `gild run --plan` applies); everything else goes to stderr', false)
        .option(
          '--matrix',
          'print the images to build spread over CI jobs: GitHub Actions matrices {"matrices":[{"include":[{"job":1,"images":"a b",…}]}],…}, or with --engine gitlab a child pipeline',
          false,
        )
        .option('--engine <engine>', 'with --matrix: github (matrices of at most 256 jobs) or gitlab (parallel:matrix of at most 200)')
        .option('--per-job <count>', 'with --matrix: at most this many images a job (default: the fewest that fit one matrix)')
        .option('--max-jobs <count>', 'with --matrix: at most this many jobs in all (default: one matrix of the engine)')
        .option('--from <file>', 'with --matrix: fan out a plan saved with `gild plan --json` instead of making one (reads no AWS)'),
    run: async (io, [images], flags) => {
      if (flags.from === undefined) (await import('./definition/load-definitions.ts')).prefetchDefinitions(io.cwd);
      return (await import('./commands/plan.ts')).plan(
        {
          images: images as string[],
          force: flags.force as boolean,
          local: flags.local as boolean,
          json: flags.json as boolean,
          matrix: flags.matrix as boolean,
          engine: flags.engine as string | undefined,
          perJob: flags.perJob as string | undefined,
          maxJobs: flags.maxJobs as string | undefined,
          from: flags.from as string | undefined,
        },
        io,
      );
    },
  },
  {
    name: 'render',
    declare: (command) =>
      command
        .description('write the Packer folder for one image (accepted by `packer validate`)')
        .argument('<image>', 'image name')
        .requiredOption('--out <dir>', 'output folder')
        .option('--base-ami <ami>', 'source AMI to render (default: a placeholder)')
        .option('--local-endpoint <url>', 'render for the emulator at this endpoint'),
    run: async (io, [image], flags) =>
      (await import('./commands/render.ts')).render(
        { image: image as string, out: flags.out as string, baseAmi: flags.baseAmi as string | undefined, localEndpoint: flags.localEndpoint as string | undefined },
        io,
      ),
  },
  {
    name: 'run',
    declare: (command) =>
      command
        .description('build, smoke test, version, publish and retire images, exactly as the plan says')
        .argument('[images...]', 'image names (default: all)')
        .option('--force', 'rebuild even when nothing changed', false)
        .option('--dry-run', 'print the plan and stop before changing anything', false)
        .option('--local', 'run against a moto emulator started for this run', false)
        .option('--plan <file>', 'apply a plan saved with `gild plan --json` instead of making one (refused if the world moved since)')
        .option('--wait-for-bases <minutes>', 'with --plan and images (one CI job): wait up to this long for each base another job builds to be published')
        .option('--show-parameters', 'print the published SSM parameters at the end', false)
        .option('--json', 'print the run report (report.json) on stdout; everything else goes to stderr', false)
        .addOption(new Option('--base-ami <image=ami>', 'use this base AMI for an image instead of resolving it').argParser(repeatable).default([])),
    run: async (io, [images], flags, argv) => {
      // NOTE: the definitions' loader thread (importing images/*.ts) and `packer version` (every run fingerprints)
      // start before the engine's modules load, and proceed beside them instead of after them.
      (await import('./definition/load-definitions.ts')).prefetchDefinitions(io.cwd);
      (await import('./adapters/packer.ts')).packerVersion().catch(() => undefined);
      return (await import('./commands/run.ts')).run(
        {
          images: images as string[],
          force: flags.force as boolean,
          dryRun: flags.dryRun as boolean,
          local: flags.local as boolean,
          plan: flags.plan as string | undefined,
          waitForBases: flags.waitForBases as string | undefined,
          showParameters: flags.showParameters as boolean,
          json: flags.json as boolean,
          baseAmi: flags.baseAmi as string[],
          argv,
        },
        io,
      );
    },
  },
  {
    name: 'test',
    declare: (command) =>
      command
        .description("build an image's container twin and run its smoke checks in it, with no AWS account (Docker or Podman, and the twin's base image)")
        .argument('<image>', 'image name')
        .option('--keep', 'leave the twin image and a running container of it, for a shell', false),
    run: async (io, [image], flags) => (await import('./commands/test.ts')).test({ image: image as string, keep: flags.keep as boolean }, io),
  },
  {
    name: 'resolve',
    declare: (command) =>
      command
        .description('print the AMI ID an image resolves to, from SSM Parameter Store (needs no images/ folder)')
        .argument('<image>', 'image name')
        .option('--region <region>', 'region (default: AWS_REGION)')
        .option('--version <version>', 'a published version, e.g. 1.4.2')
        .option('--range <range>', 'the newest published version in a semver range, e.g. ^2')
        .option('--channel <name>', 'the AMI a channel points to (<prefix>/<image>/channels/<name>)')
        .option('--major <n>', 'the newest AMI of a major version (<prefix>/<image>/v<n>)')
        .option('--prefix <path>', 'the SSM prefix (default: GILD_SSM_PREFIX, else ssmPrefix in pipeline/settings.ts, else /golden)')
        .option('--allow-revoked', 'return a revoked version (with a warning) instead of refusing it (EREVOKED, exit 1)')
        .option('--json', 'print the whole answer: amiId, parameterName, region, version, revoked, revocation, deprecated, deprecationTime'),
    run: async (io, [image], flags) => (await import('./commands/resolve.ts')).resolve({ image: image as string, ...flags }, io),
  },
  {
    name: 'retire',
    declare: (command) =>
      command
        .description('retire old versions now, as the retention policy says, without building anything')
        .argument('[images...]', 'image names (default: all)')
        .option('--dry-run', 'print the plan and stop before changing anything', false)
        .option('--json', reportJsonHelp, false),
    run: async (io, [images], flags, argv) => {
      const [{ withImagesInContext }, { createIoLogger }, { retireCommand }] = await Promise.all([import('./commands/run-steps.ts'), import('./commands/io.ts'), import('./commands/retire.ts')]);
      const logger = createIoLogger(io);
      return withImagesInContext(io, logger, { images: images as string[] }, (context, selected, signal) =>
        retireCommand(context, selected, signal, { ...reportIo(io, flags, argv), dryRun: flags.dryRun as boolean, progress: (image, line) => logger.info(`${image ?? 'retire'}: ${line}`) }),
      );
    },
  },
  ...pointerCommands(),
  {
    name: 'history',
    declare: (command) =>
      command
        .description('every version ever published: AMIs per region, build facts, smoke verdict, promotions, rollbacks, revocations, retirement')
        .argument('<image>', 'image name')
        .option('--json', 'print it as JSON', false),
    run: async (io, [image], flags) => {
      const [{ withImagesInContext }, { createIoLogger }, { historyCommand }] = await Promise.all([import('./commands/run-steps.ts'), import('./commands/io.ts'), import('./commands/history.ts')]);
      return withImagesInContext(io, createIoLogger(io), { images: [image as string] }, (context, selected) => historyCommand(context, selected[0]!, { json: flags.json as boolean }, io));
    },
  },
  {
    name: 'status',
    declare: (command) =>
      command
        .description('show what each pointer names and who runs which version: instances, Auto Scaling groups, launch templates (reads AWS, changes nothing)')
        .argument('[images...]', 'image names (default: all)')
        .option('--json', 'print the status as JSON on stdout', false)
        .option('--fail-on <what>', 'exit 1 when a revoked version is in use (revoked), or also one 30 or more days old (old)'),
    run: async (io, [images], flags) =>
      (await import('./commands/status.ts')).status(
        { images: images as string[], json: flags.json as boolean, ...(flags.failOn !== undefined ? { failOn: flags.failOn as string } : {}) } as never,
        io,
      ),
  },
  {
    name: 'verify',
    declare: (command) =>
      command
        .description('audit pointers, AMIs and sharing against the definitions in every region (changes nothing unless --repair)')
        .argument('[images...]', 'image names (default: all)')
        .option('--json', 'print the findings as JSON on stdout; everything else goes to stderr', false)
        .option('--repair', 'print the repairs as a plan, then apply them and audit again', false),
    run: async (io, [images], flags) => (await import('./commands/verify.ts')).verify({ images: images as string[], json: flags.json as boolean, repair: flags.repair as boolean }, io),
  },
  {
    name: 'report',
    declare: (command) =>
      command
        .description('work with reports (report.json)')
        .command('merge')
        .description("merge a fleet's per-image reports into one report.json and report.md (and the step summary); reads no AWS")
        .argument('[reports...]', 'report.json files, or folders to search for them')
        .option('--plan <file>', 'the plan the jobs applied (`gild plan --json`): names the images whose job left no report')
        .option('--out <dir>', 'where to write report.json and report.md (default: .gild/runs/<run-id>/fleet)')
        .option('--json', reportJsonHelp, false),
    run: async (io, [reports], flags, argv) =>
      (await import('./commands/merge-reports.ts')).mergeReports(
        { reports: reports as string[], plan: flags.plan as string | undefined, out: flags.out as string | undefined, json: flags.json as boolean, argv },
        io,
      ),
  },
  {
    name: 'unlock',
    declare: (command) =>
      command
        .description("remove an image's lock after checking that no live run holds it")
        .argument('<image>', 'image name')
        .option('--yes', 'confirm: remove it', false)
        .option('--force', 'remove it even if its owner may still be working', false)
        .option('--dry-run', 'print the plan and stop before changing anything', false)
        .option('--json', reportJsonHelp, false),
    run: async (io, [image], flags, argv) => {
      const [{ withImagesInContext }, { createIoLogger }, { unlockCommand }] = await Promise.all([import('./commands/run-steps.ts'), import('./commands/io.ts'), import('./commands/unlock.ts')]);
      const logger = createIoLogger(io);
      return withImagesInContext(io, logger, { images: [image as string] }, (context, selected, signal) =>
        unlockCommand(context, selected[0]!, { yes: flags.yes as boolean, force: flags.force as boolean }, signal, {
          ...reportIo(io, flags, argv),
          dryRun: flags.dryRun as boolean,
          progress: (name, line) => logger.info(`${name ?? (image as string)}: ${line}`),
        }),
      );
    },
  },
  {
    name: 'iam-policy',
    declare: (command) =>
      command
        .description('print the least-privilege IAM policy for the pipeline role (reads no AWS)')
        .option('--json', 'print only the policy document', false)
        .addOption(new Option('--assume-role <arn>', 'a distribution-account role gild assumes (repeatable)').argParser(repeatable).default([]))
        .option('--account-role', 'print the policy for the role gild assumes in the distribution accounts instead', false),
    run: async (io, _args, flags) =>
      (await import('./commands/iam-policy.ts')).iamPolicyCommand({ json: flags.json as boolean, assumeRole: flags.assumeRole as string[], accountRole: flags.accountRole as boolean }, io),
  },
];

/** promote, rollback, release and revoke: each a plan that moves pointers, applied by the runner. */
function pointerCommands(): CommandEntry[] {
  type PointerChange = import('./plan/plan-pointer-change.ts').PointerChange;
  const change = async (io: Io, image: string, flags: Record<string, unknown>, argv: readonly string[], pointerChange: PointerChange) => {
    const [{ withImagesInContext }, { createIoLogger }, { changePointerCommand }, { assertReasonText }] = await Promise.all([
      import('./commands/run-steps.ts'),
      import('./commands/io.ts'),
      import('./commands/change-pointer.ts'),
      import('./commands/reason-text.ts'),
    ]);
    if ('reason' in pointerChange) assertReasonText(pointerChange.reason);
    const logger = createIoLogger(io);
    return withImagesInContext(io, logger, { images: [image], withDependants: pointerChange.kind === 'revoke' }, (context, selected, signal) =>
      changePointerCommand(
        context,
        selected.find((candidate) => candidate.name === image)!,
        pointerChange,
        signal,
        { ...reportIo(io, flags, argv), dryRun: flags.dryRun as boolean, progress: (name, line) => logger.info(`${name ?? image}: ${line}`) },
        selected,
      ),
    );
  };
  // latest, v<major> or a channel (the same rule as src/plan/plan-pointer-change.ts pointerOfName, kept here so --help loads no planner).
  const pointerOf = (channel: unknown) => (channel === undefined || channel === 'latest' ? 'latest' : /^v\d+$/.test(String(channel)) ? String(channel) : `channels/${String(channel)}`);
  return [
    {
      name: 'promote',
      declare: (command) =>
        command
          .description('move a channel to a published version (default: the one latest points to)')
          .argument('<image>', 'image name')
          .requiredOption('--to <channel>', 'the channel, as declared in pipeline/settings.ts')
          .option('--version <version>', 'the version to promote (default: the one latest points to)')
          .option('--dry-run', 'print the plan and stop before changing anything', false)
          .option('--json', reportJsonHelp, false),
      run: (io, [image], flags, argv) => change(io, image as string, flags, argv, { kind: 'promote', channel: flags.to as string, version: flags.version as string | undefined }),
    },
    {
      name: 'rollback',
      declare: (command) =>
        command
          .description('move latest (with the v<major> line naming the same version), v<major> or a channel back to the previous good version, or the one given, and hold it there')
          .argument('<image>', 'image name')
          .option('--channel <channel>', 'latest, v<major> or a channel', 'latest')
          .option('--to <version>', 'the version to roll back to (default: the newest good one older than now)')
          .requiredOption('--reason <text>', 'why: shown in every plan while the hold lasts')
          .option('--dry-run', 'print the plan and stop before changing anything', false)
          .option('--json', reportJsonHelp, false),
      run: (io, [image], flags, argv) =>
        change(io, image as string, flags, argv, { kind: 'rollback', pointer: pointerOf(flags.channel), to: flags.to as string | undefined, reason: flags.reason as string }),
    },
    {
      name: 'release',
      declare: (command) =>
        command
          .description('remove the hold a rollback put on latest (or v<major>, or a channel): the next run catches latest and v<major> up, promote moves a channel')
          .argument('<image>', 'image name')
          .option('--channel <channel>', 'latest, v<major> or a channel', 'latest')
          .option('--dry-run', 'print the plan and stop before changing anything', false)
          .option('--json', reportJsonHelp, false),
      run: (io, [image], flags, argv) => change(io, image as string, flags, argv, { kind: 'release', pointer: pointerOf(flags.channel) }),
    },
    {
      name: 'revoke',
      declare: (command) =>
        command
          .description('pull a version everywhere: every pointer naming it moves to the newest good version, and its AMIs are marked revoked and deprecated')
          .argument('<image>', 'image name')
          .argument('<version>', 'the version to revoke')
          .requiredOption('--reason <text>', 'why: recorded on the AMIs and shown in plans and history')
          .option('--disable', 'also disable the AMIs (launches fail until re-enabled)', false)
          .option('--cascade', 'also revoke every published version built on it (images of this project only); without it they are only marked gild:base-revoked', false)
          .option('--dry-run', 'print the plan and stop before changing anything', false)
          .option('--json', reportJsonHelp, false),
      run: (io, [image, version], flags, argv) =>
        change(io, image as string, flags, argv, { kind: 'revoke', version: version as string, reason: flags.reason as string, disable: flags.disable as boolean, cascade: flags.cascade as boolean }),
    },
    {
      name: 'restore',
      declare: (command) =>
        command
          .description(
            'undo a revoke: the version is good again (re-enabled, tagged published, resolvable), and latest and v<major> move back to it where it is the newest; channels are offered with the promote to run. A version retirement deregistered comes back from the Recycle Bin first, where a retention rule kept it',
          )
          .argument('<image>', 'image name')
          .argument('<version>', 'the revoked (or retired) version to restore')
          .requiredOption('--reason <text>', 'why: recorded in the version ledger and on the AMIs, and shown in history')
          .option('--dry-run', 'print the plan and stop before changing anything', false)
          .option('--json', reportJsonHelp, false),
      run: (io, [image, version], flags, argv) => change(io, image as string, flags, argv, { kind: 'restore', version: version as string, reason: flags.reason as string }),
    },
  ];
}

function defaultIo(): Io {
  return {
    cwd: process.cwd(),
    env: { ...process.env },
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: Boolean(process.stdout.isTTY),
    exit: (code) => process.exit(code),
  };
}

export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<never> {
  const code = await runCli(argv, io);
  // NOTE: a pipe that its reader has not emptied takes writes asynchronously; process.exit would cut a large document
  // (a 1,000-image `plan --json` piped to another program) short. An empty write's callback runs once all before it went.
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
}

/** Runs a gild command and returns the exit code (tests call this directly). */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let exitCode = 0;
  const program = new Command('gild')
    .description('Golden-image pipeline: images as code → Packer → smoke test → semver → SSM Parameter Store → retire')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError(true);
  for (const entry of commandTable) {
    entry.declare(program.command(entry.name)).action(async (...parsed: unknown[]) => {
      // commander passes the positional arguments, then the options, then the command.
      const args = parsed.slice(0, -2);
      const flags = parsed.at(-2) as Record<string, unknown>;
      exitCode = await entry.run(io, args, flags, argv);
    });
  }

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
