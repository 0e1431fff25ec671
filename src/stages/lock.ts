/**
 * The image's lock, as plan steps: `lock` enters the lease the runner holds as
 * a scope around the image's steps (src/apply/lease-scope.ts), `unlock` enters
 * it by taking over a stale lease (expired, or a dead pid on this host), and
 * `release` leaves it. A run that finds it taken does nothing to the image; a
 * lost renewal stops the image's remaining work. The stages only name the
 * step; the scope, its renewal and what is held live in the runner.
 */
import type { StepStage } from '../apply/step-stage.ts';

export const unlockStage: StepStage<'unlock'> = {
  kind: 'unlock',
  title: (step) => `take over the ${step.breakReason === undefined ? 'stale ' : ''}lock of ${step.image}`,
  check: (_context, step, run) => run.lease.staleLockMoved(step),
  run: async (_context, step, run) => ({ removed: await run.lease.takeOver(step, run.logger) }),
};

export const lockStage: StepStage<'lock'> = {
  kind: 'lock',
  title: (step) => `lock ${step.image}`,
  run: async (_context, step, run) => ({ lease: await run.lease.enter(step) }),
};

export const releaseStage: StepStage<'release'> = {
  kind: 'release',
  title: (step) => `release the lock of ${step.image}`,
  run: async (_context, step, run) => ({ released: await run.lease.leave(step, run.logger) }),
};
