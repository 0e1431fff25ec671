/**
 * The smoke test's instances: one per smoke instance type, launched from the AMI under test, each registered for
 * termination the moment it exists (so SIGINT/SIGTERM terminates it), and all terminated together at the end.
 */
import { runInstance, terminateInstances } from '../adapters/ec2.ts';
import type { Context } from '../context.ts';
import { describeAwsError } from '../errors.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Logger } from '../logger.ts';
import type { ImageRun } from '../stages/stage.ts';

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
  readonly amiId: string;
  readonly defer: ImageRun['defer'];
  readonly logger: Logger;
}

/**
 * Every instance that launched, and the first launch failure if any: the caller terminates what launched either way.
 * NOTE: allSettled, not all: a launch that fails must not hide one still in flight, or that instance would never be
 * terminated.
 */
export async function launchInstances(options: LaunchOptions): Promise<{ readonly launched: readonly LaunchedInstance[]; readonly failure: unknown }> {
  const { ec2, image, amiId, logger } = options;
  const region = image.buildRegion;
  const tags = { 'gild:run-id': options.runId, 'gild:image': image.name, 'gild:role': 'smoke', Name: `gild-smoke-${image.name}-${options.version}` };
  const launched: LaunchedInstance[] = [];
  const launches = await Promise.allSettled(
    image.smoke.instanceTypes.map(async (instanceType) => {
      const instanceId = await runInstance(ec2, {
        amiId,
        instanceType,
        subnetId: image.smoke.subnetId,
        securityGroupIds: image.smoke.securityGroupIds,
        instanceProfile: image.smoke.instanceProfile,
        userData: image.smoke.userData,
        tags,
      });
      // Registered before anything else can throw or wait, so SIGINT/SIGTERM terminates it.
      const undoDefer = options.defer(`terminate smoke instance ${instanceId} (${instanceType}) in ${region}`, () => terminateInstances(ec2, [instanceId]));
      launched.push({ instanceType, instanceId, undoDefer });
      logger.info(`launched smoke instance ${instanceId} (${instanceType}) from ${amiId} in ${region}`);
    }),
  );
  const failure = launches.find((launch): launch is PromiseRejectedResult => launch.status === 'rejected');
  return { launched, failure: failure?.reason };
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
