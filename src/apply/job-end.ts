/**
 * A CI job's word that it is done with an image of a shared plan without publishing it: the signal a job waiting for
 * that image as its base (src/apply/wait-for-publication.ts) reads, so that it stops waiting at once instead of at
 * its deadline. Without it, a waiter learns of a failed base only from the base's lock, seen held by the plan's run
 * and then released: a base job that refused before locking (its saved plan moved, a definition error) or yielded
 * (another run holds the base) never holds the lock, and its dependants waited the full `--wait-for-bases`.
 *
 * The marker is `<prefix>/_jobs/<image>/ended` in the image's build region (where its lock is), JSON
 * `{ runId, version, result, reason, at }`. Why this shape:
 * - outside `<prefix>/<image>/`, so it is no pointer, version or lock to anything that reads an image's parameters,
 *   and no part of the image's digest (writing it moves no saved plan); `_` starts no image name;
 * - one per image, overwritten by the image's next job: the count of parameters never grows with runs;
 * - keyed by its content: a waiter trusts it only when it names the waiter's plan (run ID) and the version that plan
 *   meant, so a marker of another plan, or of an earlier version, is ignored;
 * - written only once the job is done with the image and did not publish it (after its lock is released, or
 *   before it was ever taken), so a waiter that reads it before the versions reads versions that are final.
 *
 * Crash safety: a job that dies before writing it writes nothing, and the waiter falls back on the lock (a lease of
 * this run seen released, or left to expire, says the job is gone) and, for a job that died before locking, on its
 * deadline: nothing can say more. A failed write is a warning, never the job's failure. A version published after
 * all (a re-run of the base's job) wins over any marker: the waiter looks at the versions first. What is left,
 * stated honestly: a re-run of a plan's jobs may let a waiter read the marker of the base's earlier attempt before
 * the base's new attempt publishes; the dependant is then skipped (and its job fails) once more, with the earlier
 * attempt's reason.
 */
import { runOutsideThePlan } from '../step-scope.ts';
import { getParameter, getParameters, putParameterExpecting } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import { describeAwsError, isGildError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { ImageDecision } from '../plan/run-plan.ts';
import type { ImageOutcome } from './run-trip.ts';

export const jobEndParameterName = (prefix: string, image: string) => `${prefix}/_jobs/${image}/ended`;

export interface JobEnd {
  readonly runId: string;
  readonly version: string;
  /** What became of the image in the job: `refused` (before anything was locked), `failed`, `yielded`, `skipped`, `interrupted`. */
  readonly result: string;
  readonly reason: string;
  readonly at: string;
}

/** Kept short so the marker stays a standard parameter (4 KB). */
const reasonLimit = 1_000;

export function parseJobEnd(raw: string | undefined): JobEnd | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as Record<string, unknown> | null;
    if (!parsed || typeof parsed !== 'object') return undefined;
    const { runId, version, result, reason, at } = parsed;
    if (typeof runId !== 'string' || typeof version !== 'string' || typeof result !== 'string') return undefined;
    return { runId, version, result, reason: typeof reason === 'string' ? reason : 'no reason recorded', at: typeof at === 'string' ? at : '?' };
  } catch {
    return undefined;
  }
}

/**
 * The image's lock (its raw value) and the end marker a waiter for `image` `version` of plan `runId` trusts (undefined
 * when there is none that fits), both in the image's build region: one GetParameters a look, where they were two
 * GetParameter side by side.
 */
export async function readLockAndJobEnd(
  context: Pick<Context, 'clients'>,
  where: { readonly prefix: string; readonly region: string; readonly lockName: string },
  runId: string,
  image: string,
  version: string,
): Promise<{ readonly lock: string | undefined; readonly ended: JobEnd | undefined }> {
  const endName = jobEndParameterName(where.prefix, image);
  const found = await getParameters(context.clients.ssm(where.region), [where.lockName, endName]);
  const marker = parseJobEnd(found.find((parameter) => parameter.name === endName)?.value);
  return { lock: found.find((parameter) => parameter.name === where.lockName)?.value, ended: marker?.runId === runId && marker.version === version ? marker : undefined };
}

/** An image of a job's slice that other jobs may wait for: the saved plan builds or resumes it, as this version. */
export interface AwaitedImage {
  readonly image: string;
  readonly version: string;
  /** Its build region, where its lock and its end marker are. */
  readonly region: string;
}

export type EndedImage = AwaitedImage & { readonly result: string; readonly reason: string };

export function awaitedImages(decisions: readonly ImageDecision[], only: readonly string[] | undefined, images: readonly Pick<ResolvedImage, 'name' | 'buildRegion'>[]): AwaitedImage[] {
  if (!only) return [];
  return decisions.flatMap((decision) => {
    const image = images.find((candidate) => candidate.name === decision.image);
    return image && only.includes(decision.image) && (decision.action === 'build' || decision.action === 'resume')
      ? [{ image: decision.image, version: decision.nextVersion, region: image.buildRegion }]
      : [];
  });
}

/** The awaited images the job did not publish, with what became of each. */
export function endedUnpublished(awaited: readonly AwaitedImage[], outcomes: readonly ImageOutcome[]): EndedImage[] {
  return awaited.flatMap((entry) => {
    const outcome = outcomes.find((candidate) => candidate.image === entry.image);
    return outcome && outcome.result !== 'published' ? [{ ...entry, result: outcome.result, reason: outcome.reason }] : [];
  });
}

/** Runs the job's plan check; a refusal (the plan moved, a definition error) is recorded for the jobs waiting on its images, then thrown. */
export async function refusalRecorded<T>(
  context: Pick<Context, 'clients' | 'now' | 'settings' | 'runId'>,
  awaited: readonly AwaitedImage[],
  logger: Logger,
  check: () => Promise<T>,
  stillRefusing: () => boolean = () => true,
): Promise<T> {
  try {
    return await check();
  } catch (error) {
    // Once the plan is being applied, the ends are recorded from the outcomes (recordJobEnds below), not as refusals.
    if (!stillRefusing()) throw error;
    const details = isGildError(error) ? error.details : [];
    const reason = [error instanceof Error ? error.message : String(error), ...details].join(' ');
    await recordJobEnds(
      context,
      awaited.map((entry) => ({ ...entry, result: 'refused', reason })),
      context.runId,
      logger,
    );
    throw error;
  }
}

/**
 * Records, for each image a waiter may wait for, that this job is done with it unpublished. Best effort: a marker not
 * written leaves the waiter to the lock and its deadline, so a failure is logged and never thrown.
 */
export async function recordJobEnds(context: Pick<Context, 'clients' | 'now' | 'settings'>, ended: readonly EndedImage[], runId: string, logger: Logger): Promise<void> {
  await Promise.all(
    ended.map(async (entry) => {
      const name = jobEndParameterName(context.settings.ssmPrefix, entry.image);
      const value = JSON.stringify({ runId, version: entry.version, result: entry.result, reason: entry.reason.slice(0, reasonLimit), at: context.now().toISOString() } satisfies JobEnd);
      try {
        const ssm = context.clients.ssm(entry.region);
        const current = await getParameter(ssm, name);
        const written = await runOutsideThePlan('job-end', () => putParameterExpecting(ssm, name, value, { expected: current?.value, readJustNow: { current } }));
        if (written !== 'written') logger.warn(`could not record that this job ended ${entry.image} unpublished (${name} changed meanwhile); jobs waiting for it wait for its lock or their deadline`);
      } catch (error) {
        logger.warn(`could not record that this job ended ${entry.image} unpublished (${name}: ${describeAwsError(error)}); jobs waiting for it wait for its lock or their deadline`);
      }
    }),
  );
}
