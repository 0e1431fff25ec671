/**
 * A CI job that applies its slice of a shared plan (`gild run <images> --plan
 * plan.json --wait-for-bases <minutes>`) may hold an image whose base another
 * job builds. Instead of a barrier between waves, the image waits for its own
 * base: the base's `publish` step counts as done once every `versions/<v>`
 * parameter it writes exists and AWS shows that version as good (its status
 * parameter not revoked, its AMIs tagged as that image and version and not
 * failed or revoked: src/plan/trust-base-version.ts). It counts as failed as
 * soon as AWS says the base's job is done without publishing it: the job's
 * end marker for this plan and version (src/apply/job-end.ts: written by a
 * job that refused, failed or yielded, whether or not it ever locked), the
 * base's lock seen held by this plan's run and then released, or that lease
 * left to expire (its job died). A base whose job never shows up is given up
 * on at the deadline. Either way the image is skipped, with the reason, and
 * only the images waiting for that base are.
 *
 * Polling reads the lock and the end marker first, then the versions: a job
 * publishes before it releases the lock or writes the marker, so a lock seen
 * released, or a marker seen, before the versions are read means the versions
 * read are final.
 *
 * With gild's region copies the image builds on its base's tested AMI, before
 * the base publishes (src/plan/plan-region-copies.ts): its build waits for the
 * base's `smoke` step instead, done once AWS shows an AMI of that version in
 * the base's build region tagged `gild:status=tested` (or published since),
 * failed once it is tagged failed, revoked or retiring, or the base's job is
 * seen gone as above (src/stages/read-tested-base.ts). Its publish still waits
 * for the base's publish.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '../context.ts';
import type { Logger } from '../logger.ts';
import { parseLease } from '../observe/parse-lease.ts';
import type { PlanStep, RunPlan } from '../plan/run-plan.ts';
import { whyNotABase } from '../plan/trust-base-version.ts';
import { readBaseVersion } from '../stages/read-base-version.ts';
import { readLockAndJobEnd } from './job-end.ts';
import { readTestedBase } from '../stages/read-tested-base.ts';
import type { StepOutputs, StepResult } from './step-stage.ts';

export interface WaitForPublicationOptions {
  /** How long to wait for a base in all, from when the wait starts. */
  readonly deadlineMs: number;
  /** First pause between two looks; it doubles up to `maxPollMs`. */
  readonly firstPollMs?: number;
  readonly maxPollMs?: number;
  readonly logger: Logger;
}

/** A lease of the base's job past its expiry by more than this is taken as its job gone (hosts' clocks differ a little). */
const expiryAllowanceMs = 60_000;

/**
 * For `applyPlan`'s `awaitElsewhere`: the result of another job's `publish` step, or of its `smoke` step (with gild's
 * region copies a dependant builds from its base's tested AMI, before the base publishes), as AWS shows it.
 */
export function waitForPublication(context: Pick<Context, 'clients' | 'now'>, plan: RunPlan, options: WaitForPublicationOptions) {
  return async (awaited: PlanStep, signal: AbortSignal): Promise<StepResult> => {
    if (awaited.kind === 'publish')
      return waitForAnotherJob(context, plan, options, signal, {
        step: awaited,
        goal: 'to be published',
        done: 'is published',
        without: 'publishing',
        look: lookForPublication(context, plan, awaited),
      });
    if (awaited.kind === 'smoke') {
      // NOTE: the smoke step tags the AMI it tested in the image's build region, where its lock is too.
      const region = lockOf(plan, awaited.image)?.region;
      if (!region) return { status: 'skipped', reason: `${awaited.id} is another job's step, and the plan has no lock step that says where its image is built` };
      const query = { image: awaited.image, version: awaited.version, region, runId: plan.runId };
      return waitForAnotherJob(context, plan, options, signal, {
        step: awaited,
        goal: 'to pass its smoke test',
        done: 'passed its smoke test',
        without: 'a tested AMI of',
        look: async () => {
          const base = await readTestedBase(context, query);
          if (base.state === 'tested') return { output: { result: 'passed', checks: [] } };
          return base.state === 'refused' ? { refused: base.reason } : undefined;
        },
      });
    }
    return { status: 'skipped', reason: `${awaited.id} is another job's step, and only a smoke test or a publish is waited for` };
  };
}

/** What one look at AWS says of the awaited step: done (with the output that step would have given), refused, or nothing yet. */
type Look = () => Promise<{ readonly output: StepOutputs['publish'] | StepOutputs['smoke'] } | { readonly refused: string } | undefined>;

function lockOf(plan: RunPlan, image: string): Extract<PlanStep, { kind: 'lock' }> | undefined {
  return plan.steps.find((step): step is Extract<PlanStep, { kind: 'lock' }> => step.kind === 'lock' && step.image === image);
}

function lookForPublication(context: Pick<Context, 'clients'>, plan: RunPlan, publish: Extract<PlanStep, { kind: 'publish' }>): Look {
  const regions = [...new Set(publish.writes.filter((write) => write.pointer === 'version').map((write) => write.region))];
  return async () => {
    const evidence = await Promise.all(regions.map((region) => readBaseVersion(context, plan.ssmPrefix, region, publish.image, publish.version)));
    // NOTE: a version revoked (or not what its parameter says) in any region it is already in is never built on.
    const refused = evidence
      .filter((version) => version.amiId !== undefined)
      .map(whyNotABase)
      .find((reason) => reason !== undefined);
    if (refused) return { refused };
    return evidence.every((version) => version.amiId !== undefined) ? { output: undefined as never } : undefined;
  };
}

/**
 * Looks until the awaited step is done or refused as AWS shows it, or its job is seen gone without it (its end
 * marker, its lock released or left to expire), or the deadline passes. The lock and the marker are read before the
 * look: a job does the step before it releases the lock or writes the marker, so one seen gone before the look means
 * the look is final.
 */
async function waitForAnotherJob(
  context: Pick<Context, 'clients' | 'now'>,
  plan: RunPlan,
  options: WaitForPublicationOptions,
  signal: AbortSignal,
  awaited: { readonly step: Extract<PlanStep, { kind: 'publish' | 'smoke' }>; readonly goal: string; readonly done: string; readonly without: string; readonly look: Look },
): Promise<StepResult> {
  const { image, version } = awaited.step;
  const lock = lockOf(plan, image);
  const startedAt = context.now().getTime();
  const elapsed = () => context.now().getTime() - startedAt;
  const failed = (reason: string): StepResult => ({ status: 'failed', reason, error: new Error(reason), durationMs: elapsed() });
  const minutes = Math.round(options.deadlineMs / 60_000);
  options.logger.info(`waiting up to ${minutes} min for "${image}" ${version}, which another job builds, ${awaited.goal}`);
  let lockSeenHeld = false;
  for (let pause = options.firstPollMs ?? 1_000; ; pause = Math.min(pause * 2, options.maxPollMs ?? 30_000)) {
    const { lock: lease, ended } = lock
      ? await readLockAndJobEnd(context, { prefix: plan.ssmPrefix, region: lock.region, lockName: lock.parameterName }, plan.runId, image, version)
      : { lock: undefined, ended: undefined };
    const ours = lease === undefined ? undefined : parseLease(lease);
    const heldByThisRun = ours?.runId === plan.runId;
    const seen = await awaited.look();
    if (seen && 'refused' in seen) return failed(seen.refused);
    if (seen) {
      options.logger.info(`"${image}" ${version} ${awaited.done}`);
      return { status: 'done', output: seen.output as never, durationMs: elapsed() };
    }
    if (ended) return failed(`the job building "${image}" ended without ${awaited.without} ${version} (${ended.result}: ${ended.reason})`);
    if (lockSeenHeld && !heldByThisRun) return failed(`the job building "${image}" released its lock without ${awaited.without} ${version}`);
    if (heldByThisRun && Date.parse(ours!.expiresAt) + expiryAllowanceMs < context.now().getTime()) {
      return failed(`the job building "${image}" stopped renewing its lock (expired at ${ours!.expiresAt}) without ${awaited.without} ${version}: it is gone`);
    }
    lockSeenHeld ||= heldByThisRun;
    const left = startedAt + options.deadlineMs - context.now().getTime();
    if (left <= 0) return { status: 'skipped', reason: `"${image}" ${version} was not ${awaited.step.kind === 'publish' ? 'published' : 'tested'} within ${minutes} min (--wait-for-bases)` };
    if (signal.aborted) return { status: 'skipped', reason: 'interrupted while waiting for it' };
    await sleep(Math.min(pause, left), undefined, { signal }).catch(() => undefined);
  }
}
