/**
 * Build: render the image's Packer folder into this run's own folder and run
 * Packer. The AMI (and its copies) come back as a region → AMI map from
 * Packer's artifacts. Packer gets a security group gild made and tagged, and
 * a key pair name gild chose, so whatever a crash leaves behind can be found
 * and swept by the next run.
 */
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { awsErrorName } from '../adapters/aws-call.ts';
import { createBuildSecurityGroup, deleteSecurityGroup, describeImages, subnetVpc } from '../adapters/ec2.ts';
import { packerBuild, type PackerVersionInfo } from '../adapters/packer.ts';
import { listParametersUnder, getParameter } from '../adapters/ssm.ts';
import { StepFailure, type BuiltAmis, type StepRun, type StepStage } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeAwsError } from '../errors.ts';
import semver from 'semver';
import { nextVersion } from '../plan/next-version.ts';
import { ledgerVersions, parseLedger } from '../plan/version-ledger.ts';
import { imageParameterPath, ledgerParameterName, versionFromParameterName, versionParameterName } from '../plan/parameter-names.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { renderImage } from '../render/render-template.ts';
import { twinBuildOf } from '../target/twin-build.ts';
import { gildTags } from './gild-tags.ts';

export interface BuildTools {
  /** Read once per run, not once per image. */
  readonly packer: () => Promise<PackerVersionInfo>;
  readonly gitCommit: () => Promise<string | undefined>;
}

export function createBuildStage(tools: BuildTools): StepStage<'build'> {
  return {
    kind: 'build',
    title: (step) => `build ${step.image} ${step.version}`,
    mutates: true,
    heavy: true,
    async check(context, step, run) {
      const image = imageOf(run);
      const prefix = context.settings.ssmPrefix;
      // The versions published and the ledger's record of every number ever used, as the plan counted them.
      const parameters = await listParametersUnder(context.clients.ssm(image.buildRegion), imageParameterPath(prefix, image.name));
      const ledger = parseLedger(parameters.find((parameter) => parameter.name === ledgerParameterName(prefix, image.name))?.value);
      const versions = [...parameters.map((parameter) => versionFromParameterName(prefix, image.name, parameter.name)).filter((version): version is string => version !== undefined), ...ledgerVersions(ledger)];
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
      const tags = gildTags({ image, version: step.version, runId: context.runId, baseAmiId, builtAt, gitCommit: commit, fingerprint: step.fingerprint });
      const standIn = context.options.emulator?.standInSources[image.name];
      if (standIn) run.logger.info(`emulator: Packer cannot build from moto-made ${baseAmiId}; using stand-in ${standIn} as the source (tags still record ${baseAmiId})`);

      const runTags = { 'gild:run-id': context.runId, 'gild:image': image.name, 'gild:role': 'build', Name: `gild-build-${image.name}-${step.version}` };
      const securityGroup = await buildSecurityGroup(context, image, run, runTags);
      const twinBuild = twinBuildOf(context, image, step.version);
      try {
        const rendered = await renderImage(image, {
          outDir: packerFolderOf(run.runDir, image.name),
          templatesDir: path.join(context.cwd, 'templates'),
          baseAmiId: standIn ?? baseAmiId,
          amiName: step.amiName,
          tags,
          runTags,
          packer,
          keyPairName: `gild_${context.runId}_${image.name}`,
          ...(securityGroup ? { securityGroupId: securityGroup.groupId } : {}),
          ...(context.options.emulator ? { emulator: { endpoint: context.options.emulator.endpoint } } : {}),
          ...(twinBuild.twin ? { twin: twinBuild.twin } : {}),
          logger: run.logger,
        });
        run.logger.info(`rendered ${rendered.files.map((file) => path.relative(context.cwd, file)).join(', ')}; building from ${baseAmiId} (${step.base.source})`);
        if (twinBuild.reference) run.logger.info(`twin: the provisioners run in a container twin, committed as ${twinBuild.reference}`);
        const result = await packerBuild({ dir: rendered.dir, logFile: run.logFile, env: twinBuild.packerEnv, signal: run.signal });
        if (!result.ok) throw new StepFailure(`Packer build failed for image "${image.name}": ${result.reason}`, [`full log: ${path.relative(context.cwd, run.logFile)}`, `reproduce: gild run ${image.name} --local --force`]);
        const missing = image.regions.filter((region) => !result.amis[region]);
        if (missing.length > 0) throw new StepFailure(`Packer reported no AMI for ${missing.join(', ')}`, [`full log: ${path.relative(context.cwd, run.logFile)}`]);
        const amis = Object.fromEntries(image.regions.map((region) => [region, result.amis[region]!]));
        const snapshots: Record<string, readonly string[]> = {};
        await Promise.all(
          image.regions.map(async (region) => {
            const [ami] = await describeImages(context.clients.ec2(region), { imageIds: [amis[region]!] });
            snapshots[region] = ami?.snapshotIds ?? [];
          }),
        );
        run.logger.info(`built ${Object.entries(amis).map(([region, amiId]) => `${region}:${amiId}`).join(', ')}`);
        return { amis, snapshots, baseAmiId } satisfies BuiltAmis;
      } finally {
        // NOTE: the group goes once Packer's instance has let go of it, which on AWS can take a while after Packer
        // returns; the AMIs go on to their smoke test meanwhile (deferred until then, so an interrupt still removes it).
        if (securityGroup) {
          const removal = removeSecurityGroup(context, image.buildRegion, securityGroup.groupId, run).then((removed) => removed && securityGroup.forget());
          run.settleLater(`deleting build security group ${securityGroup.groupId}`, removal);
        }
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

/** The base AMI: known in the plan, or the version of another image this run published (read back from SSM when another process did). */
async function baseAmiOf(context: Context, step: StepOfKind<'build'>, run: StepRun): Promise<string> {
  if (step.base.kind === 'ami') return step.base.amiId;
  const region = imageOf(run).buildRegion;
  const published = run.output(step.base.from, 'publish');
  const fromRun = published?.amis[region];
  if (fromRun) return fromRun;
  const parameterName = versionParameterName(context.settings.ssmPrefix, step.base.image, step.base.version);
  const parameter = await getParameter(context.clients.ssm(region), parameterName);
  if (!parameter) throw new StepFailure(`base image "${step.base.image}" ${step.base.version} is not published in ${region} (${parameterName} does not exist)`, [`run \`gild run ${step.base.image}\` first`]);
  return parameter.value;
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
  // Packer connects from where gild runs; Session Manager and the emulator's communicator "none" need no port.
  const ports = context.options.emulator || infrastructure.sessionManager ? [] : image.platform === 'windows' ? [5985, 5986] : [22];
  const name = `gild_${context.runId}_${image.name}`;
  const groupId = await createBuildSecurityGroup(ec2, { name, description: `gild build of ${image.name} in run ${context.runId}`, vpcId, ingressPorts: ports, sourceCidrs: ['0.0.0.0/0'], tags: runTags });
  const forget = run.defer(`delete build security group ${groupId}`, () => deleteSecurityGroup(ec2, groupId));
  run.logger.info(`created build security group ${groupId} (${name})${ports.length ? ` open on ${ports.join(', ')}` : ''}`);
  return { groupId, forget };
}

/**
 * The group goes once Packer's instance has let go of it. A terminating instance keeps its group for a while
 * (DependencyViolation), so this retries with backoff for a bounded time, then leaves it to the next run's sweep.
 */
async function removeSecurityGroup(context: Context, region: string, groupId: string, run: StepRun): Promise<boolean> {
  const ec2 = context.clients.ec2(region);
  for (let attempt = 0, waitMs = 2000; attempt < 8; attempt++, waitMs = Math.min(waitMs * 2, 30_000)) {
    try {
      await deleteSecurityGroup(ec2, groupId);
      run.logger.info(`deleted build security group ${groupId}`);
      return true;
    } catch (error) {
      if (awsErrorName((error as Error).cause) !== 'DependencyViolation') {
        run.logger.warn(`could not delete build security group ${groupId}: ${describeAwsError(error)}; the next run's sweep removes it`);
        return false;
      }
      // NOTE: a timer that holds the process open: the runner awaits this before the run ends.
      await delay(waitMs);
    }
  }
  run.logger.warn(`build security group ${groupId} is still in use; the next run's sweep removes it`);
  return false;
}
