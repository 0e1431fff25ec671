/**
 * The smoke test's instances: one per smoke instance type, launched from the AMI under test, each registered for
 * termination the moment it exists (so SIGINT/SIGTERM terminates it), and all terminated together at the end.
 */
import { createTemporaryKeyPair, deleteKeyPair, runInstance, terminateInstances, type TemporaryKeyPair } from '../adapters/ec2.ts';
import type { Context } from '../context.ts';
import { describeAwsError } from '../errors.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Logger } from '../logger.ts';
import type { ImageRun } from '../stages/stage.ts';
import { prefixTag } from '../plan/prefix-tag.ts';

type Ec2 = ReturnType<Context['clients']['ec2']>;

export interface LaunchedInstance {
  readonly instanceType: string;
  readonly instanceId: string;
  /** Unregisters its termination from the run's cleanups, once TerminateInstances was accepted. */
  readonly undoDefer: () => void;
}

export interface LaunchOptions {
  readonly ec2: Ec2;
  readonly image: ResolvedImage;
  readonly version: string;
  readonly runId: string;
  /** The pipeline's SSM prefix (`gild:prefix`): another pipeline's sweep leaves the instances alone. */
  readonly ssmPrefix: string;
  readonly amiId: string;
  readonly defer: ImageRun['defer'];
  readonly logger: Logger;
}

/**
 * The smoke test's temporary key pair, made only for generalized Windows images: the only way to read the password EC2Launch
 * sets at first boot. Named like Packer's (`gild_<runId>_<image>`, which sweeps find) but apart from it, so a build
 * key pair Packer failed to delete never collides with it.
 */
export function smokeKeyPairName(runId: string, imageName: string): string {
  return `gild_${runId}-smoke_${imageName}`;
}

export interface SmokeKeyPair {
  readonly keyPair: TemporaryKeyPair;
  /** Unregisters its deletion from the run's cleanups, once DeleteKeyPair was accepted. */
  readonly undoDefer: () => void;
}

export interface Launched {
  readonly launched: readonly LaunchedInstance[];
  /** The temporary key pair the instances were launched with (Windows), to delete when the smoke test ends. */
  readonly keyPair: SmokeKeyPair | undefined;
  readonly failure: unknown;
}

/**
 * Every instance that launched, and the first launch failure if any: the caller terminates what launched either way.
 * NOTE: allSettled, not all: a launch that fails must not hide one still in flight, or that instance would never be
 * terminated.
 */
export async function launchInstances(options: LaunchOptions): Promise<Launched> {
  const { ec2, image, amiId, logger } = options;
  const region = image.buildRegion;
  const tags = { 'gild:run-id': options.runId, 'gild:image': image.name, 'gild:role': 'smoke', ...prefixTag(options.ssmPrefix), Name: `gild-smoke-${image.name}-${options.version}` };
  const launched: LaunchedInstance[] = [];
  let keyPair: SmokeKeyPair | undefined;
  // NOTE: only where the password check asks for it: with generalize off it is kept by choice and nothing is read.
  if (image.platform === 'windows' && image.generalize.kind !== 'off') {
    const name = smokeKeyPairName(options.runId, image.name);
    try {
      const created = await createTemporaryKeyPair(ec2, { name, tags });
      // Registered at once, so SIGINT/SIGTERM deletes it; a crash leaves it tagged and named for the next run's sweep.
      keyPair = { keyPair: created, undoDefer: options.defer(`delete smoke key pair ${name} in ${region}`, () => deleteKeyPair(ec2, name)) };
      logger.info(`created smoke key pair ${name} in ${region}, to read the password EC2Launch sets at first boot`);
    } catch (failure) {
      return { launched, keyPair, failure };
    }
  }
  const launches = await Promise.allSettled(
    image.smoke.instanceTypes.map(async (instanceType) => {
      const instanceId = await runInstance(ec2, {
        amiId,
        instanceType,
        subnetId: image.smoke.subnetId,
        securityGroupIds: image.smoke.securityGroupIds,
        instanceProfile: image.smoke.instanceProfile,
        userData: image.smoke.userData,
        keyName: keyPair?.keyPair.name,
        tags,
      });
      // Registered before anything else can throw or wait, so SIGINT/SIGTERM terminates it.
      const undoDefer = options.defer(`terminate smoke instance ${instanceId} (${instanceType}) in ${region}`, () => terminateInstances(ec2, [instanceId]));
      launched.push({ instanceType, instanceId, undoDefer });
      logger.info(`launched smoke instance ${instanceId} (${instanceType}) from ${amiId} in ${region}`);
    }),
  );
  const failure = launches.find((launch): launch is PromiseRejectedResult => launch.status === 'rejected');
  return { launched, keyPair, failure: failure?.reason };
}

/** Deletes the smoke key pair; like a termination, a refusal is the caller's (the next run's sweep removes it). */
export async function deleteSmokeKeyPair(options: { readonly ec2: Ec2; readonly keyPair: SmokeKeyPair | undefined; readonly logger: Logger }): Promise<void> {
  const { ec2, keyPair, logger } = options;
  if (!keyPair) return;
  await deleteKeyPair(ec2, keyPair.keyPair.name);
  keyPair.undoDefer();
  logger.info(`deleted smoke key pair ${keyPair.keyPair.name}`);
}

/**
 * Terminates every launched instance in one request, trying once more when AWS refuses; a second refusal throws (the
 * caller hands it to the runner as failed settle work): an instance left running costs until a later sweep, so it
 * must not pass as a warning. Until AWS accepts, the instances stay registered for cleanup on an interrupt.
 */
export async function terminateLaunched(options: { readonly ec2: Ec2; readonly launched: readonly LaunchedInstance[]; readonly logger: Logger }): Promise<void> {
  const { ec2, launched, logger } = options;
  if (launched.length === 0) return;
  const instanceIds = launched.map((instance) => instance.instanceId);
  try {
    await terminateInstances(ec2, instanceIds);
  } catch (error) {
    // NOTE: the SDK has retried what it deems transient; one more try, then the failure is the caller's.
    logger.warn(`could not terminate ${instanceIds.join(', ')}: ${describeAwsError(error)}; trying once more`);
    await terminateInstances(ec2, instanceIds);
  }
  for (const instance of launched) instance.undoDefer();
  logger.info(`terminated smoke instance${instanceIds.length === 1 ? '' : 's'} ${instanceIds.join(', ')} (TerminateInstances accepted)`);
}
