/**
 * Share: set one region's AMI's description, and grant launch permission on
 * it and create-volume permission on each of its snapshots to exactly whom
 * the definition says (nobody, for a private image).
 * It runs after the smoke test passed and before publish, so a failing image
 * is never visible outside the account, and only on an AMI gild has already
 * tagged (which is what the pipeline role's tag-scoped `ModifyImageAttribute`
 * and `ModifySnapshotAttribute` allow). The description is set here for the
 * same reason: Packer sets `ami_description` with ModifyImageAttribute before
 * it tags the AMI, so gild does not hand it to Packer; and it reaches the AMI
 * as written, never through Packer's template engine.
 *
 * Exactly, not at least: a grant the definition does not list is removed.
 * Only gild ever shares these AMIs (the Packer settings that share are refused
 * in `packerSource`), and they are unpublished, or (finishing a publish that
 * stopped halfway) the run's own: an extra grant is one an earlier run of the
 * same version made under an older definition, which must not outlive it.
 * `gild verify` holds the same line (an extra grantee is drift, `--repair`
 * removes it), so a run never ends in drift. Public is granted only when the
 * definition says public, with its reason.
 *
 * Idempotent: adding what is there and removing what is not change nothing;
 * each change is computed from a fresh read, and a lost answer is recognised
 * by reading back.
 */
import {
  describeCreateVolumePermissions,
  describeImages,
  describeLaunchPermissions,
  modifyCreateVolumePermissions,
  modifyLaunchPermissions,
  setImageDescription,
  type SharingPermissions,
} from '../adapters/ec2.ts';
import { StepFailure, type StepRun, type StepStage } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import { describeAwsError } from '../errors.ts';
import { describeGrantees, isNoChange, launchSharingChange, volumeSharingChange, type SharingChange, type VolumePermissions } from '../plan/plan-sharing.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { amisOf } from './amis-of.ts';
import { imageOf } from './build.ts';

/** What the check reads of the AMI: enough to tell whether it is still this image's, this version's, and usable. */
export interface SharedAmiState {
  readonly state: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** Why the AMI must not be shared as the step says (gone, not available, or now tagged as another image or version), or false. */
export function shareRefusal(step: StepOfKind<'share'>, amiId: string, ami: SharedAmiState | undefined): false | string {
  if (!ami) return `${amiId} in ${step.region} no longer exists`;
  const [image, version] = [ami.tags['gild:image'], ami.tags['gild:version']];
  if (image !== step.image || version !== step.version) {
    return `${amiId} in ${step.region} is now tagged gild:image=${image ?? '(none)'} gild:version=${version ?? '(none)'}, not ${step.image} ${step.version}: it is not shared`;
  }
  if (ami.state !== 'available') return `${amiId} in ${step.region} is ${ami.state ?? 'in no known state'}, not available`;
  if (ami.tags['gild:status'] === 'failed') return `${amiId} in ${step.region} is tagged gild:status=failed: a failed image is never shared`;
  return false;
}

type ReadAmi = Awaited<ReturnType<typeof readAmi>>;

/**
 * The check's read, handed to the run that follows it at once: the runner calls `check` right before `run`, so a
 * second DescribeImages would only repeat it, one round trip longer on the path of every image built on this one.
 */
const checkedAmis = new WeakMap<StepRun, Promise<ReadAmi>>();

async function readAmi(context: Context, step: StepOfKind<'share'>, amiId: string) {
  const [ami] = await describeImages(context.clients.ec2(step.region), { imageIds: [amiId] });
  if (!ami) return undefined;
  return {
    state: ami.state,
    description: ami.description,
    tags: ami.tags,
    snapshotIds: ami.snapshotIds,
  };
}

function amiOf(step: StepOfKind<'share'>, run: StepRun): string {
  const amiId = amisOf(run, step.amis).amis[step.region];
  if (!amiId) throw new StepFailure(`there is no AMI of ${step.image} ${step.version} in ${step.region} to share`);
  return amiId;
}

/**
 * Read, change what differs, and read back when the change's answer is lost: if the grants are then as
 * expected, the change landed.
 */
async function converge<P extends Partial<SharingPermissions>>(
  what: string,
  read: () => Promise<P>,
  changeFrom: (current: P) => SharingChange<P>,
  apply: (change: SharingChange<P>) => Promise<void>,
): Promise<SharingChange<P> | undefined> {
  const change = changeFrom(await read());
  if (isNoChange(change)) return undefined;
  try {
    await apply(change);
  } catch (error) {
    const after = await read().catch(() => undefined);
    if (after === undefined || !isNoChange(changeFrom(after))) throw new StepFailure(`could not share ${what} as defined: ${describeAwsError(error)}`, [], { cause: error });
  }
  return change;
}

export const shareStage: StepStage<'share'> = {
  kind: 'share',
  title: (step) => `share ${step.image} ${step.version} in ${step.region}`,
  async check(context, step, run) {
    const amiId = amisOf(run, step.amis).amis[step.region];
    if (!amiId) return `there is no AMI of ${step.image} ${step.version} in ${step.region}`;
    const read = readAmi(context, step, amiId);
    checkedAmis.set(run, read);
    return shareRefusal(step, amiId, await read);
  },
  async run(context, step, run) {
    const image = imageOf(run);
    const amiId = amiOf(step, run);
    // NOTE: the plan may come from a file; only the definition itself can make an image public.
    if ((step.launchPermissions.groups.includes('all') || step.volumePermissions.groups.includes('all')) && image.launchPermissions.kind !== 'public') {
      throw new StepFailure(`the plan would make ${amiId} in ${step.region} public, but ${image.file} does not say launchPermissions: { public: true, reason }`, [
        'plan again with `gild plan` from the current definitions',
      ]);
    }
    const ec2 = context.clients.ec2(step.region);
    const checked = checkedAmis.get(run);
    checkedAmis.delete(run);
    const ami = await (checked ?? readAmi(context, step, amiId));
    const refused = shareRefusal(step, amiId, ami);
    if (refused || !ami) throw new StepFailure(`not shared: ${refused || `${amiId} is gone`}`);

    // NOTE: the description, the AMI's grants and each snapshot's are independent, so they converge together: the
    // images built on this one wait for the slowest, not for the sum. Each is awaited, failed or not, before the step
    // ends, so that nothing is left in flight behind a failure.
    // The description is idempotent, so no read-back is needed after a lost answer; moto accepts the call but never
    // stores the description, so on the emulator it is sent on every share.
    const [described, launched, ...snapshotted] = await Promise.allSettled([
      ami.description !== step.description ? setImageDescription(ec2, amiId, step.description) : Promise.resolve(),
      converge<SharingPermissions>(
        `${amiId} in ${step.region}`,
        () => describeLaunchPermissions(ec2, amiId),
        (current) => launchSharingChange(step.launchPermissions, current),
        (change) => modifyLaunchPermissions(ec2, amiId, change),
      ),
      ...ami.snapshotIds.map((snapshotId) =>
        converge<VolumePermissions>(
          `snapshot ${snapshotId} of ${amiId} in ${step.region}`,
          () => describeCreateVolumePermissions(ec2, snapshotId),
          (current) => volumeSharingChange(step.volumePermissions, current),
          (change) => modifyCreateVolumePermissions(ec2, snapshotId, change),
        ),
      ),
    ]);
    const failed = [described, launched, ...snapshotted].find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const launch = (launched as PromiseFulfilledResult<SharingChange<SharingPermissions> | undefined>).value;
    const volumes = snapshotted.map((outcome) => (outcome as PromiseFulfilledResult<SharingChange<VolumePermissions> | undefined>).value);
    const removed = [...describeGrantees(launch?.remove ?? {}), ...volumes.flatMap((change) => describeGrantees(change?.remove ?? {}))];
    if (removed.length > 0) run.logger.warn(`removed grants the definition does not list from ${amiId} in ${step.region} or its snapshots: ${[...new Set(removed)].join(', ')}`);
    const grantees = describeGrantees(step.launchPermissions);
    run.summary.push(
      grantees.length === 0
        ? `${step.version} in ${step.region} (${amiId}): description set, private`
        : `shared ${step.version} in ${step.region} (${amiId} and ${ami.snapshotIds.length} snapshot${ami.snapshotIds.length === 1 ? '' : 's'}) with ${grantees.join(', ')}`,
    );
    return { amiId, snapshotIds: ami.snapshotIds };
  },
};
