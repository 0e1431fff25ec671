/**
 * Publish: write `versions/<v>` in every region, then move the pointers
 * (`latest`) in every region, then mark the AMIs published. All or nothing:
 * a failure undoes exactly what this step wrote, and nothing else. Every
 * write is idempotent: a lost answer is recognised by reading back, and a
 * value someone else wrote is never taken for ours nor undone.
 */
import { createTags, describeImages } from '../adapters/ec2.ts';
import { createParameterIfAbsent, deleteParameterIfValue, getParameter, putParameterExpecting } from '../adapters/ssm.ts';
import { StepFailure, WorldMoved, type PublishedAmis, type StepRun, type StepStage } from '../apply/step-stage.ts';
import { describeAwsError } from '../errors.ts';
import type { Context } from '../context.ts';
import { renewLease } from '../apply/lease.ts';
import { isLeaseOwnedBy, leaseTtlMs, parseLease, publishLeaseMarginMs } from '../observe/parse-lease.ts';
import { lockParameterName } from '../plan/parameter-names.ts';
import type { ParameterWrite, StepOfKind } from '../plan/run-plan.ts';
import { amisOf } from './amis-of.ts';
import { recordBuilt } from '../plan/version-ledger.ts';
import { recordInLedger } from './record-version.ts';
import { imageOf } from './build.ts';
import { whyAmiNotPublishable, whyWritesNotAllowed } from './check-publish.ts';

interface Undo {
  readonly description: string;
  readonly action: () => Promise<unknown>;
}

/**
 * The lock's read, started by the check alongside its read of the AMIs and awaited by the run that follows it at
 * once: both are reads right before the first write, and one after the other they were two round trips on the path
 * of every image built on this one.
 */
const lockReads = new WeakMap<StepRun, Promise<void>>();

export const publishStage: StepStage<'publish'> = {
  kind: 'publish',
  title: (step) => `publish ${step.image} ${step.version}`,
  async check(context, step, run) {
    const { amis } = amisOf(run, step.amis);
    const image = imageOf(run);
    const lockRead = assertLockStillOurs(context, image.name, image.buildRegion, step.version);
    // NOTE: handled here so that a check that finds the world moved (and no run to await it) leaves no rejection unseen.
    lockRead.catch(() => {});
    lockReads.set(run, lockRead);
    // The regions are read together: this check sits on the critical path of every image built on this one.
    const states = await Promise.all(Object.entries(amis).map(async ([region, amiId]) => ({ region, amiId, ami: (await describeImages(context.clients.ec2(region), { imageIds: [amiId] }))[0] })));
    const unavailable = states.find(({ ami }) => !ami || ami.state !== 'available');
    if (unavailable) return `${unavailable.amiId} in ${unavailable.region} is ${unavailable.ami ? unavailable.ami.state : 'gone'}`;
    // NOTE: whatever the plan says, only this image's own tested AMIs of this version are published.
    const foreign = states.flatMap(({ region, ami }) => {
      const why = whyAmiNotPublishable(ami!, region, step.image, step.version);
      return why ? [why] : [];
    });
    if (foreign.length > 0) throw new StepFailure(`${step.id} refused: it names AMIs that are not ${step.image} ${step.version} tested`, foreign);
    return false;
  },
  async run(context, step, run) {
    const image = imageOf(run);
    // NOTE: the lease is renewed only every few minutes; a take-over since the last renewal would let two runs publish.
    const lockRead = lockReads.get(run);
    lockReads.delete(run);
    await (lockRead ?? assertLockStillOurs(context, image.name, image.buildRegion, step.version));
    // NOTE: the number is taken before anything names it: a publish that fails or is undone after this still used it,
    // and the ledger outlives every parameter and AMI of the version.
    await recordInLedger(context, image, (ledger) => recordBuilt(ledger, step.version));
    return writePublishedParameters(context, step, run);
  },
};

/**
 * The publish itself, once the caller has made sure this run still holds the image's lock: in the building account
 * (the publish stage) or, with that account's clients, in a distribution account (account-publish), whose SSM holds
 * no lock of its own.
 */
export async function writePublishedParameters(context: Context, step: StepOfKind<'publish'>, run: StepRun): Promise<PublishedAmis> {
  const image = imageOf(run);
  const { amis, snapshots } = amisOf(run, step.amis);
  // NOTE: whatever the plan says, a publish writes only the names the prefix, the image and the pointer rules give it.
  const refused = whyWritesNotAllowed(context.settings.ssmPrefix, image.name, step.version, step.writes, amis);
  if (refused.length > 0) throw new StepFailure(`${step.id} refused: it writes parameters a publish of ${image.name} ${step.version} never writes`, refused);
  const undo: Undo[] = [];
  const tags = { 'gild:image': image.name, 'gild:version': step.version, 'gild:run-id': context.runId };
  const write = async (entry: ParameterWrite): Promise<void> => {
    const ssm = context.clients.ssm(entry.region);
    const amiId = amis[entry.region];
    if (!amiId) throw new StepFailure(`there is no AMI for ${entry.region} to publish as ${entry.name}`);
    // The version is in every description: a pointer's parameter history then says what it named, even after retirement.
    const description = `${image.name} ${entry.pointer === 'version' ? step.version : entry.name.slice(entry.name.lastIndexOf('/') + 1)}: version ${step.version}. ${image.description}`;
    if (entry.previous === undefined) {
      const created = await createParameterIfAbsent(ssm, entry.name, amiId, { dataType: 'aws:ec2:image', tags, description });
      if (created !== 'created') throw new WorldMoved(`${entry.name} in ${entry.region} already names ${created.exists.value}: another run published it since this plan was made`);
      undo.push({ description: `delete ${entry.name} in ${entry.region}`, action: () => deleteParameterIfValue(ssm, entry.name, amiId) });
      return;
    }
    const moved = await putParameterExpecting(ssm, entry.name, amiId, { expected: entry.previous, dataType: 'aws:ec2:image', description });
    if (moved !== 'written') throw new WorldMoved(`${entry.name} in ${entry.region} was moved to ${moved.moved ?? '(deleted)'} since this plan was made (it held ${entry.previous})`);
    const previous = entry.previous;
    undo.push({
      description: `restore ${entry.name} in ${entry.region} to ${previous}`,
      action: () => putParameterExpecting(ssm, entry.name, previous, { expected: amiId, dataType: 'aws:ec2:image' }),
    });
  };

  // Every write of a group is awaited, failed or not, before the next group or the undo: nothing is left in flight.
  const writeAll = async (entries: readonly ParameterWrite[]) => {
    const results = await Promise.allSettled(entries.map(write));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    // NOTE: versions first, together; the pointers only once every region has its version, so that a failure never
    // leaves one pointing at an unpublished version. The pointers move together too: the images built on this one
    // wait for the whole step, and a failure undoes every pointer it moved, wherever it was.
    await writeAll(step.writes.filter((entry) => entry.pointer === 'version'));
    await writeAll(step.writes.filter((entry) => entry.pointer !== 'version'));
  } catch (error) {
    run.logger.warn(`publishing ${step.version} failed (${describeAwsError(error)}); undoing what this step wrote`);
    const undoFailures: string[] = [];
    for (const entry of undo.reverse()) {
      try {
        await entry.action();
        run.logger.info(`undone: ${entry.description}`);
      } catch (undoError) {
        undoFailures.push(`${entry.description}: ${describeAwsError(undoError)}`);
      }
    }
    if (error instanceof WorldMoved && undoFailures.length === 0) throw error;
    throw new StepFailure(
      `publishing ${image.name} ${step.version} failed${undoFailures.length ? ', and undoing it failed too' : ' and was undone'}: ${describeAwsError(error)}`,
      undoFailures.map((line) => `not undone (the next run's plan repairs it): ${line}`),
      { cause: error },
    );
  }

  // NOTE: the tag only records what the parameters already say, so the images built on this one need not wait for it.
  const tagging = Promise.all(
    Object.entries(amis).map(([region, amiId]) =>
      createTags(context.clients.ec2(region), [amiId, ...(snapshots[region] ?? [])], { 'gild:status': 'published', 'gild:published-at': context.now().toISOString() }).catch((error: unknown) =>
        run.logger.warn(`could not tag ${amiId} in ${region} as published (its parameters say it is): ${describeAwsError(error)}`),
      ),
    ),
  );
  run.settleLater(`tagging ${image.name} ${step.version} published`, tagging);
  run.summary.push(
    `published ${step.version}: ${Object.entries(amis)
      .map(([region, amiId]) => `${region} ${amiId}`)
      .join(', ')}`,
  );
  return { version: step.version, amis } satisfies PublishedAmis;
}

/**
 * Right before the first write: this run must still hold the image's lock, read now from SSM, and its lease must not
 * have expired by this host's clock (a taker may then be taking it over); it is then renewed, and must have at least
 * `publishLeaseMarginMs` left. Otherwise nothing is written.
 */
export async function assertLockStillOurs(context: Context, imageName: string, region: string, version: string): Promise<void> {
  const lockName = lockParameterName(context.settings.ssmPrefix, imageName);
  const ssm = context.clients.ssm(region);
  const current = await getParameter(ssm, lockName);
  const held = current ? parseLease(current.value) : undefined;
  const nothingWritten = `nothing of ${imageName} ${version} was written`;
  if (!current) throw new StepFailure(`lock lost: ${lockName} in ${region} was removed; ${nothingWritten}`);
  if (!held) throw new StepFailure(`lock lost to "${current.value.slice(0, 80)}" (${lockName} in ${region}); ${nothingWritten}`);
  if (!isLeaseOwnedBy(held, { runId: context.runId, host: context.processInfo.host, pid: context.processInfo.pid })) {
    throw new StepFailure(`lock lost to run ${held.runId} (pid ${held.pid} on ${held.host}, since ${held.takenAt}); ${nothingWritten}`, [
      `${lockName} in ${region} names run ${held.runId}, not this run ${context.runId}`,
    ]);
  }
  if (Date.parse(held.expiresAt) <= context.now().getTime()) throw new StepFailure(`lock lost: this run's lease on ${lockName} expired at ${held.expiresAt}; ${nothingWritten}`);
  // NOTE: renewed, then checked: a lease that passed the read above with seconds left could expire, and be taken
  // over, while the parameters are written.
  // The read above is the renewal's own re-check: nothing was written since, and checking it was pure.
  const renewal = await renewLease(ssm, lockName, held, { now: context.now, ttlMs: leaseTtlMs }, { current }).catch((error: unknown) => {
    throw new StepFailure(`could not renew this run's lease on ${lockName} in ${region} before publishing: ${describeAwsError(error)}; ${nothingWritten}`, [], { cause: error });
  });
  if ('lost' in renewal) throw new StepFailure(`lock lost: ${renewal.lost}; ${nothingWritten}`);
  const leftMs = Date.parse(renewal.renewed.expiresAt) - context.now().getTime();
  if (leftMs < publishLeaseMarginMs) {
    throw new StepFailure(
      `lock at risk: this run's lease on ${lockName} has ${Math.max(0, Math.round(leftMs / 1000))}s left, less than the ${publishLeaseMarginMs / 1000}s a publish needs; ${nothingWritten}`,
    );
  }
}
