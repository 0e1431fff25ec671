/**
 * Build: render the image's Packer folder into this run's own folder and run
 * Packer. The AMI (and its copies) come back as a region → AMI map from
 * Packer's artifacts. Packer gets a security group gild made and tagged, and
 * a key pair name gild chose, so whatever a crash leaves behind can be found
 * and swept by the next run.
 */
import path from 'node:path';
import { createBuildSecurityGroup, deleteSecurityGroup, deleteSecurityGroupOnceReleased, describeImages, subnetVpc, type ImageSummary } from '../adapters/ec2.ts';
import { packerBuild, type PackerBuildResult, type PackerVersionInfo } from '../adapters/packer.ts';
import { listParametersUnder } from '../adapters/ssm.ts';
import { StepFailure, type BuiltAmis, type StepRun, type StepStage } from '../apply/step-stage.ts';
import { regionalAmis } from './amis-of.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeAwsError } from '../errors.ts';
import { markFailed } from '../smoke/fail-image.ts';
import semver from 'semver';
import { nextVersion } from '../plan/next-version.ts';
import { packerExitIdOf } from '../plan/plan-packer-exit.ts';
import { ledgerVersions, parseLedger } from '../plan/version-ledger.ts';
import { imageParameterPath, ledgerParameterName, versionFromParameterName } from '../plan/parameter-names.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { renderImage } from '../render/render-template.ts';
import { twinBuildOf } from '../target/twin-build.ts';
import { whyNotABase } from '../plan/trust-base-version.ts';
import { readBaseVersion } from './read-base-version.ts';
import { readTestedBase } from './read-tested-base.ts';
import { gildTags } from './gild-tags.ts';
import type { PackerRuns } from './packer-exit.ts';
import { pauseUnless } from './waits.ts';
import { prefixTag } from '../plan/prefix-tag.ts';

export interface BuildTools {
  /** Read once per run, not once per image. */
  readonly packer: () => Promise<PackerVersionInfo>;
  readonly gitCommit: () => Promise<string | undefined>;
  /** Where each build leaves its running Packer for the image's `packer-exit` step (one registry per run). */
  readonly packerRuns: PackerRuns;
  /** Between reads of a tagged AMI before Packer has exited (tests shorten it). */
  readonly taggedPollMs?: number;
}

export function createBuildStage(tools: BuildTools): StepStage<'build'> {
  return {
    kind: 'build',
    title: (step) => `build ${step.image} ${step.version}`,
    async check(context, step, run) {
      const image = imageOf(run);
      const prefix = context.settings.ssmPrefix;
      // The versions published and the ledger's record of every number ever used, as the plan counted them.
      const parameters = await listParametersUnder(context.clients.ssm(image.buildRegion), imageParameterPath(prefix, image.name));
      const ledger = parseLedger(parameters.find((parameter) => parameter.name === ledgerParameterName(prefix, image.name))?.value);
      const versions = [
        ...parameters.map((parameter) => versionFromParameterName(prefix, image.name, parameter.name)).filter((version): version is string => version !== undefined),
        ...ledgerVersions(ledger),
      ];
      const next = nextVersion(image.version, versions);
      // The plan may count more used numbers (the tags of AMIs once published): a planned version above is still unused.
      if (next.ok && (next.version === step.version || semver.gt(step.version, next.version))) return false;
      return `another run published ${image.name} since this plan was made: the next version is ${next.ok ? next.version : '(none)'}, not ${step.version}. Run gild again to plan from what is published now.`;
    },
    async run(context, step, run) {
      const image = imageOf(run);
      const baseAmiId = await baseAmiOf(context, step, run);
      const builtAt = context.now();
      const [packer, commit] = await Promise.all([tools.packer(), tools.gitCommit()]);
      const tags = gildTags({ image, version: step.version, runId: context.runId, baseAmiId, builtAt, gitCommit: commit, fingerprint: step.fingerprint, ssmPrefix: context.settings.ssmPrefix });
      const source = context.target.buildSource(image.name, baseAmiId);
      if (source.note) run.logger.info(source.note);

      // NOTE: gild:prefix on the build instance too: another pipeline's sweep leaves a long build alone, and its plan
      // tells this run's AMI from its own while Packer has not tagged it yet (src/plan/plan-leftovers.ts).
      const runTags = { 'gild:run-id': context.runId, 'gild:image': image.name, 'gild:role': 'build', ...prefixTag(context.settings.ssmPrefix), Name: `gild-build-${image.name}-${step.version}` };
      const securityGroup = await buildSecurityGroup(context, image, run, runTags);
      // The base's twin exists only where this process built the base in this run (its publish output is here).
      const builtBase =
        step.base.kind === 'published-in-run' && (step.base.from.startsWith('smoke:') ? testedBaseAmi(run, step.base.image, image.buildRegion) : run.output(step.base.from, 'publish'))
          ? { image: step.base.image, version: step.base.version }
          : undefined;
      const twinBuild = twinBuildOf(context, image, step.version, builtBase);
      let packerExit: Promise<PackerBuildResult> | undefined;
      try {
        // NOTE: the step's regions, not the image's: with gild's own region copies the build makes the build region's only.
        const rendered = await renderImage(
          { ...image, regions: step.regions },
          {
            outDir: packerFolderOf(run.runDir, image.name),
            templatesDir: path.join(context.cwd, 'templates'),
            baseAmiId: source.amiId,
            amiName: step.amiName,
            tags,
            runTags,
            packer,
            keyPairName: `gild_${context.runId}_${image.name}`,
            ...(securityGroup ? { securityGroupId: securityGroup.groupId } : {}),
            target: context.target.packer,
            ...(twinBuild.twin ? { twin: twinBuild.twin } : {}),
            logger: run.logger,
          },
        );
        run.logger.info(`rendered ${rendered.files.map((file) => path.relative(context.cwd, file)).join(', ')}; building from ${baseAmiId} (${step.base.source})`);
        if (twinBuild.note) run.logger.info(twinBuild.note);
        // NOTE: no early hand-on for a build with a container twin: the emulator's smoke stand-in runs the checks in the
        // twin, which Packer commits in the same `packer build`, possibly after the AMI. Nor in a plan without this
        // build's packer-exit step (what waits for Packer's exit before sharing or publishing): fail closed.
        const handOnEarly = !twinBuild.twin && run.inPlan(packerExitIdOf(image.name));
        const tagging = followTagging(step.regions.length);
        packerExit = packerBuild({ dir: rendered.dir, logFile: run.logFile, env: twinBuild.packerEnv, signal: run.signal, onAmiTagging: tagging.hint, onLine: tagging.line });
        const exited = packerExit;
        const early = handOnEarly ? await taggedBeforeExit(context, step, tags, exited, tagging, { pollMs: tools.taggedPollMs ?? 500, signal: run.signal, logger: run.logger }) : undefined;
        if (early) {
          tools.packerRuns.set(step.id, { exit: exited, yielded: early.amis, snapshots: early.snapshots, early: true });
          run.logger.info(`Packer tagged ${regionalAmis(early.amis)}: handed on while Packer cleans up (packer-exit:${image.name} waits for its exit before anything is shared or published)`);
          return { ...early, baseAmiId } satisfies BuiltAmis;
        }
        const result = await exited;
        if (!result.ok) {
          // Packer had tagged its AMI before it failed: marked failed, as packer-exit marks one handed on, so that no
          // later run resumes and publishes what a failed `packer build` made (the next run's plan cleans it up).
          const marked = tagging.seen() && !run.signal.aborted ? await markTaggedFailed(context, image, step, `packer build failed after making the AMI: ${result.reason}`) : [];
          for (const line of marked) run.logger.warn(line);
          throw new StepFailure(`Packer build failed for image "${image.name}": ${result.reason}`, [
            `full log: ${path.relative(context.cwd, run.logFile)}`,
            ...(marked.length > 0 ? ['Packer had made and tagged its AMI: it is marked failed, and the next run cleans it up'] : []),
            `reproduce: gild run ${image.name} --local --force`,
          ]);
        }
        const missing = step.regions.filter((region) => !result.amis[region]);
        if (missing.length > 0) throw new StepFailure(`Packer reported no AMI for ${missing.join(', ')}`, [`full log: ${path.relative(context.cwd, run.logFile)}`]);
        const amis = Object.fromEntries(step.regions.map((region) => [region, result.amis[region]!]));
        const snapshots: Record<string, readonly string[]> = {};
        await Promise.all(
          step.regions.map(async (region) => {
            const [ami] = await describeImages(context.clients.ec2(region), { imageIds: [amis[region]!] });
            snapshots[region] = ami?.snapshotIds ?? [];
          }),
        );
        run.logger.info(`built ${regionalAmis(amis)}`);
        tools.packerRuns.set(step.id, { exit: exited, yielded: amis, snapshots, early: false });
        return { amis, snapshots, baseAmiId } satisfies BuiltAmis;
      } finally {
        // NOTE: the group goes once Packer has exited and its instance has let go of it, which on AWS can take a while
        // after Packer returns; the AMIs go on to their smoke test meanwhile (deferred until then, so an interrupt
        // still removes it). Awaited by the runner before the run ends, and so is Packer's exit.
        if (securityGroup) {
          const removal = (packerExit ?? Promise.resolve())
            .catch(() => undefined)
            .then(() => removeSecurityGroup(context, image.buildRegion, securityGroup.groupId, run))
            .then((removed) => removed && securityGroup.forget());
          run.settleLater(`deleting build security group ${securityGroup.groupId}`, removal);
        } else if (packerExit) run.settleLater(`waiting for Packer's exit`, packerExit);
      }
    },
  };
}

/** The folder an image's build renders into and Packer writes to (manifest, the build's identity record). */
export function packerFolderOf(runDir: string, imageName: string): string {
  return path.join(runDir, imageName, 'packer');
}

export function imageOf(run: StepRun): ResolvedImage {
  if (!run.image) throw new Error('this step belongs to an image, but none was given');
  return run.image;
}

/**
 * The base AMI: known in the plan, or the version of another image this run published, or (another process published
 * it: a CI job's base is built by another job) read back from SSM. What another process published is checked as AWS
 * shows it now: a saved plan only says which version was meant, and that version may since have been revoked, or its
 * parameter may name an AMI that is not it (src/plan/trust-base-version.ts).
 */
async function baseAmiOf(context: Context, step: StepOfKind<'build'>, run: StepRun): Promise<string> {
  if (step.base.kind === 'ami') return step.base.amiId;
  const region = imageOf(run).buildRegion;
  const fromRun = step.base.from.startsWith('smoke:') ? testedBaseAmi(run, step.base.image, region) : run.output(step.base.from, 'publish')?.amis[region];
  if (fromRun) return fromRun;
  // NOTE: a base another job builds with gild's region copies: its tested AMI, as AWS shows it now (read-tested-base.ts).
  if (step.base.from.startsWith('smoke:')) {
    const tested = await readTestedBase(context, { image: step.base.image, version: step.base.version, region, runId: context.runId });
    if (tested.state === 'tested') return tested.amiId;
    throw new StepFailure(tested.state === 'refused' ? tested.reason : `base image "${step.base.image}" ${step.base.version} has no AMI in ${region} that passed its smoke test`, [
      tested.state === 'refused'
        ? `nothing is built on it; make a new plan (\`gild plan\`), which builds on ${step.base.image}'s newest good version`
        : `run this job with --wait-for-bases <minutes>, so that it waits for the job building ${step.base.image}`,
    ]);
  }
  const evidence = await readBaseVersion(context, context.settings.ssmPrefix, region, step.base.image, step.base.version);
  const refused = whyNotABase(evidence);
  if (refused !== undefined || evidence.amiId === undefined) {
    throw new StepFailure(refused ?? `base image "${step.base.image}" ${step.base.version} is not published in ${region}`, [
      evidence.amiId === undefined ? `run \`gild run ${step.base.image}\` first` : `nothing is built on it; make a new plan (\`gild plan\`), which builds on ${step.base.image}'s newest good version`,
    ]);
  }
  return evidence.amiId;
}

/** The base's AMI this run built (or resumed) and smoke-tested (plan-region-copies.ts: a dependant need not wait for its copies). */
function testedBaseAmi(run: StepRun, baseImage: string, region: string): string | undefined {
  return (run.output(`build:${baseImage}`, 'build') ?? run.output(`resume:${baseImage}`, 'resume'))?.amis[region];
}

/**
 * A security group for this build only, unless the definition names its own. Packer would otherwise create
 * `packer_<uuid>` with no tags, which nobody could tell apart after a crash.
 */
async function buildSecurityGroup(context: Context, image: ResolvedImage, run: StepRun, runTags: Readonly<Record<string, string>>): Promise<{ groupId: string; forget: () => void } | undefined> {
  const infrastructure = image.buildInfrastructure;
  if (infrastructure.securityGroupIds.length > 0) return undefined;
  const ec2 = context.clients.ec2(image.buildRegion);
  const vpcId = infrastructure.subnetId ? await subnetVpc(ec2, infrastructure.subnetId) : infrastructure.vpcId;
  // Packer connects from where gild runs; Session Manager, and a target whose instances nothing connects to, need no port.
  const ports = context.target.packer.unreachableInstances || infrastructure.sessionManager ? [] : image.platform === 'windows' ? [5985, 5986] : [22];
  const name = `gild_${context.runId}_${image.name}`;
  const groupId = await createBuildSecurityGroup(ec2, {
    name,
    description: `gild build of ${image.name} in run ${context.runId}`,
    vpcId,
    ingressPorts: ports,
    sourceCidrs: ['0.0.0.0/0'],
    tags: runTags,
  });
  const forget = run.defer(`delete build security group ${groupId}`, () => deleteSecurityGroup(ec2, groupId));
  run.logger.info(`created build security group ${groupId} (${name})${ports.length ? ` open on ${ports.join(', ')}` : ''}`);
  return { groupId, forget };
}

/**
 * The group goes once Packer's instance has let go of it; the adapter waits for that, bounded, and otherwise the next
 * run's sweep removes it.
 */
async function removeSecurityGroup(context: Context, region: string, groupId: string, run: StepRun): Promise<boolean> {
  // NOTE: a timer that holds the process open: the runner awaits this before the run ends.
  const removal = await deleteSecurityGroupOnceReleased(context.clients.ec2(region), groupId).catch((error: unknown) => {
    run.logger.warn(`could not delete build security group ${groupId}: ${describeAwsError(error)}; the next run's sweep removes it`);
    return 'failed' as const;
  });
  if (removal === 'deleted') run.logger.info(`deleted build security group ${groupId}`);
  if (removal === 'in-use') run.logger.warn(`build security group ${groupId} is still in use; the next run's sweep removes it`);
  return removal === 'deleted';
}

/** What the early hand-on follows of Packer's output: its tagging lines, and every line as a cue to look again. */
export interface PackerTagging {
  /** Resolves once Packer has said it is tagging the AMI of every region the build makes. */
  readonly all: Promise<void>;
  /** How many lines Packer has printed so far. */
  readonly printed: () => number;
  /** Resolves at the next line Packer prints. */
  readonly nextLine: () => Promise<void>;
}

/**
 * Packer's `Adding tags to AMI` lines, counted: `all` resolves once there is one for each region the build makes (with
 * `ami_regions` Packer tags every region's AMI after every copy, in no set order); every line Packer prints counted too.
 */
export function followTagging(regions: number): PackerTagging & { readonly hint: (amiId: string) => void; readonly line: () => void; readonly seen: () => boolean } {
  let seen = 0;
  let lines = 0;
  let waiting: (() => void)[] = [];
  let resolve: () => void = () => undefined;
  const all = new Promise<void>((done) => (resolve = done));
  return {
    hint: () => {
      seen += 1;
      if (seen >= regions) resolve();
    },
    line: () => {
      lines += 1;
      const woken = waiting;
      waiting = [];
      for (const wake of woken) wake();
    },
    all,
    seen: () => seen >= regions,
    printed: () => lines,
    nextLine: () => new Promise<void>((wake) => waiting.push(wake)),
  };
}

/** The build's AMIs by the name gild gave Packer, per region, as AWS shows them now (several, or none, are undefined). */
async function amisNamed(context: Context, step: StepOfKind<'build'>): Promise<Record<string, ImageSummary | undefined>> {
  const found = await Promise.all(
    step.regions.map(async (region) => {
      const named = await describeImages(context.clients.ec2(region), { owners: ['self'], filters: [{ Name: 'name', Values: [step.amiName] }] });
      return [region, named.length === 1 ? named[0] : undefined] as const;
    }),
  );
  return Object.fromEntries(found);
}

async function markTaggedFailed(context: Context, image: ResolvedImage, step: StepOfKind<'build'>, reason: string): Promise<string[]> {
  try {
    const named = await amisNamed(context, step);
    const amis = Object.fromEntries(Object.entries(named).flatMap(([region, ami]) => (ami ? [[region, ami.amiId]] : [])));
    return await markFailed({ context, image, version: step.version, amis, snapshots: {}, reason });
  } catch (error) {
    // NOTE: the build has already failed, and saying why matters more; unmarked, the AMI is still a candidate, which
    // the next run's plan resumes (tested again) or cleans up, never publishes untested.
    return [`could not mark the AMI named ${step.amiName} failed: ${describeAwsError(error)}; the next run tests it again or cleans it up`];
  }
}

/**
 * The build's AMIs as AWS shows them once Packer has said it is tagging them, before Packer exits: found by the exact
 * name gild gave Packer (owner self) in every region, `available`, and carrying every tag gild asked Packer for (gild
 * renders no `snapshot_tags`: Packer's one CreateTags covers the AMI and its snapshots). The hint only says when to
 * look; the answer is AWS's (a Packer that says something else never hints, and its build ends at its exit, as it
 * always did). Undefined when Packer exits first, the run is interrupted, or the AMIs are not found so in a few reads
 * (said in the log, as then the build waits for Packer's exit).
 */
export async function taggedBeforeExit(
  context: Context,
  step: StepOfKind<'build'>,
  tags: Readonly<Record<string, string>>,
  exit: Promise<PackerBuildResult>,
  tagging: PackerTagging,
  options: { readonly pollMs: number; readonly signal: AbortSignal; readonly logger: StepRun['logger'] },
): Promise<Pick<BuiltAmis, 'amis' | 'snapshots'> | undefined> {
  const stop = new AbortController();
  const noticeExit = () => stop.abort();
  void exit.then(noticeExit, noticeExit);
  const stopped = AbortSignal.any([stop.signal, options.signal]);
  const hinted = await Promise.race([
    tagging.all.then(() => true),
    exit.then(
      () => false,
      () => false,
    ),
  ]);
  if (!hinted) return undefined;
  const reads = 20;
  let missing = '';
  for (let read = 0; read < reads && !stopped.aborted; read++) {
    const printedBefore = tagging.printed();
    const found = await amisNamed(context, step).catch((error: unknown) => {
      missing = `reading it failed: ${describeAwsError(error)}`;
      return undefined;
    });
    const ready = found && step.regions.every((region) => found[region]?.state === 'available' && Object.entries(tags).every(([key, value]) => found[region]?.tags[key] === value));
    if (found && ready && !stopped.aborted) {
      return {
        amis: Object.fromEntries(step.regions.map((region) => [region, found[region]!.amiId])),
        snapshots: Object.fromEntries(step.regions.map((region) => [region, found[region]!.snapshotIds])),
      };
    }
    if (found) {
      const region = step.regions.find((candidate) => !(found[candidate]?.state === 'available'));
      missing = region ? `no one available AMI named ${step.amiName} in ${region}` : `not every tag gild asked for is on it yet`;
    }
    // NOTE: Packer says it is tagging before its CreateTags, and its tagging step prints a few lines more before that
    // call (`Tagging snapshot`, `Creating AMI tags`, `Adding tag: …`, `Creating snapshot tags`); the first line of its
    // cleanup (`Terminating the source AWS instance...`) comes only once the call answered, its steps running one after
    // another. So any line printed since this read began is a cue to read again at once (a read woken by the tagging
    // step's own lines finds the tags missing and waits again), else the next line or the poll, whichever comes first
    // (a Packer that goes quiet is read at the poll). A chatty Packer spends the 20 reads sooner: the build then waits for
    // Packer's exit, a cost in time only.
    if (read < reads - 1 && tagging.printed() === printedBefore) await pauseUnless(options.pollMs, stopped, tagging.nextLine()).catch(() => undefined);
  }
  if (!stopped.aborted) options.logger.info(`Packer said it tagged its AMI, but ${missing} after ${reads} reads: the build waits for Packer's exit`);
  return undefined;
}
