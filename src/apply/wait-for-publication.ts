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
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { getParameter } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { Logger } from '../logger.ts';
import { parseLease } from '../observe/parse-lease.ts';
import type { PlanStep, RunPlan } from '../plan/run-plan.ts';
import { whyNotABase } from '../plan/trust-base-version.ts';
import { readBaseVersion } from '../stages/read-base-version.ts';
import { readJobEnd } from './job-end.ts';
import type { StepResult } from './step-stage.ts';

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

/** For `applyPlan`'s `awaitElsewhere`: the result of another job's `publish` step, as AWS shows it. */
export function waitForPublication(context: Pick<Context, 'clients' | 'now'>, plan: RunPlan, options: WaitForPublicationOptions) {
  return async (publish: PlanStep, signal: AbortSignal): Promise<StepResult> => {
    if (publish.kind !== 'publish') return { status: 'skipped', reason: `${publish.id} is another job's step, and only a publish is waited for` };
    const lock = plan.steps.find((step): step is Extract<PlanStep, { kind: 'lock' }> => step.kind === 'lock' && step.image === publish.image);
    const regions = [...new Set(publish.writes.filter((write) => write.pointer === 'version').map((write) => write.region))];
    const startedAt = context.now().getTime();
    const elapsed = () => context.now().getTime() - startedAt;
    const failed = (reason: string): StepResult => ({ status: 'failed', reason, error: new Error(reason), durationMs: elapsed() });
    const minutes = Math.round(options.deadlineMs / 60_000);
    options.logger.info(`waiting up to ${minutes} min for "${publish.image}" ${publish.version}, which another job builds, to be published`);
    let lockSeenHeld = false;
    for (let pause = options.firstPollMs ?? 1_000; ; pause = Math.min(pause * 2, options.maxPollMs ?? 30_000)) {
      const [lease, ended] = lock
        ? await Promise.all([
            getParameter(context.clients.ssm(lock.region), lock.parameterName),
            readJobEnd(context, { prefix: plan.ssmPrefix, region: lock.region }, plan.runId, publish.image, publish.version),
          ])
        : [undefined, undefined];
      const ours = lease === undefined ? undefined : parseLease(lease.value);
      const heldByThisRun = ours?.runId === plan.runId;
      const evidence = await Promise.all(regions.map((region) => readBaseVersion(context, plan.ssmPrefix, region, publish.image, publish.version)));
      // NOTE: a version revoked (or not what its parameter says) in any region it is already in is never built on.
      const refused = evidence
        .filter((version) => version.amiId !== undefined)
        .map(whyNotABase)
        .find((reason) => reason !== undefined);
      if (refused) return failed(refused);
      if (evidence.every((version) => version.amiId !== undefined)) {
        options.logger.info(`"${publish.image}" ${publish.version} is published`);
        return { status: 'done', output: undefined as never, durationMs: elapsed() };
      }
      if (ended) return failed(`the job building "${publish.image}" ended without publishing ${publish.version} (${ended.result}: ${ended.reason})`);
      if (lockSeenHeld && !heldByThisRun) return failed(`the job building "${publish.image}" released its lock without publishing ${publish.version}`);
      if (heldByThisRun && Date.parse(ours!.expiresAt) + expiryAllowanceMs < context.now().getTime()) {
        return failed(`the job building "${publish.image}" stopped renewing its lock (expired at ${ours!.expiresAt}) without publishing ${publish.version}: it is gone`);
      }
      lockSeenHeld ||= heldByThisRun;
      const left = startedAt + options.deadlineMs - context.now().getTime();
      if (left <= 0) return { status: 'skipped', reason: `"${publish.image}" ${publish.version} was not published within ${minutes} min (--wait-for-bases)` };
      if (signal.aborted) return { status: 'skipped', reason: 'interrupted while waiting for it' };
      await sleep(Math.min(pause, left), undefined, { signal }).catch(() => undefined);
    }
  };
}
