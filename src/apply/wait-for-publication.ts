/**
 * A CI job that applies its slice of a shared plan (`gild run <images> --plan
 * plan.json --wait-for-bases <minutes>`) may hold an image whose base another
 * job builds. Instead of a barrier between waves, the image waits for its own
 * base: the base's `publish` step counts as done once every `versions/<v>`
 * parameter it writes exists, and as failed once the base's lock, seen held by
 * this plan's run, is released with the version still unpublished (its job
 * ended without publishing it). A base whose job never shows up is given up on
 * at the deadline. Either way the image is skipped, with the reason, and only
 * the images waiting for that base are.
 *
 * Polling reads the lock first, then the versions: a job publishes before it
 * releases the lock, so a lock seen released before the versions are read
 * means the versions read are final.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { getParameter, getParameters } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { Logger } from '../logger.ts';
import { parseLease } from '../observe/parse-lease.ts';
import type { PlanStep, RunPlan } from '../plan/run-plan.ts';
import type { StepResult } from './step-stage.ts';

export interface WaitForPublicationOptions {
  /** How long to wait for a base in all, from when the wait starts. */
  readonly deadlineMs: number;
  /** First pause between two looks; it doubles up to `maxPollMs`. */
  readonly firstPollMs?: number;
  readonly maxPollMs?: number;
  readonly logger: Logger;
}

/** For `applyPlan`'s `awaitElsewhere`: the result of another job's `publish` step, as AWS shows it. */
export function waitForPublication(context: Pick<Context, 'clients' | 'now'>, plan: RunPlan, options: WaitForPublicationOptions) {
  return async (publish: PlanStep, signal: AbortSignal): Promise<StepResult> => {
    if (publish.kind !== 'publish') return { status: 'skipped', reason: `${publish.id} is another job's step, and only a publish is waited for` };
    const lock = plan.steps.find((step): step is Extract<PlanStep, { kind: 'lock' }> => step.kind === 'lock' && step.image === publish.image);
    const versionNames = new Map<string, string[]>();
    for (const write of publish.writes) if (write.pointer === 'version') versionNames.set(write.region, [...(versionNames.get(write.region) ?? []), write.name]);
    const startedAt = context.now().getTime();
    const minutes = Math.round(options.deadlineMs / 60_000);
    options.logger.info(`waiting up to ${minutes} min for "${publish.image}" ${publish.version}, which another job builds, to be published`);
    let lockSeenHeld = false;
    for (let pause = options.firstPollMs ?? 1_000; ; pause = Math.min(pause * 2, options.maxPollMs ?? 30_000)) {
      const lease = lock ? await getParameter(context.clients.ssm(lock.region), lock.parameterName) : undefined;
      const heldByThisRun = lease !== undefined && parseLease(lease.value)?.runId === plan.runId;
      const found = await Promise.all([...versionNames].map(async ([region, names]) => (await getParameters(context.clients.ssm(region), names)).length === names.length));
      if (found.every(Boolean)) {
        options.logger.info(`"${publish.image}" ${publish.version} is published`);
        return { status: 'done', output: undefined as never, durationMs: context.now().getTime() - startedAt };
      }
      if (lockSeenHeld && !heldByThisRun) {
        const reason = `the job building "${publish.image}" released its lock without publishing ${publish.version}`;
        return { status: 'failed', reason, error: new Error(reason), durationMs: context.now().getTime() - startedAt };
      }
      lockSeenHeld ||= heldByThisRun;
      const left = startedAt + options.deadlineMs - context.now().getTime();
      if (left <= 0) return { status: 'skipped', reason: `"${publish.image}" ${publish.version} was not published within ${minutes} min (--wait-for-bases)` };
      if (signal.aborted) return { status: 'skipped', reason: 'interrupted while waiting for it' };
      await sleep(Math.min(pause, left), undefined, { signal }).catch(() => undefined);
    }
  };
}
