/**
 * The lifecycle table: which stage carries out each kind of plan step, beside
 * its row of policy columns (`src/apply/step-table.ts`: mutates, heavy, the
 * lease, runs-always, gates-dependants, yields-when-moved, phase, output
 * check). The runner (`src/apply/apply-plan.ts`) reads the columns and alone
 * decides when, and whether, each stage runs. In the order an image lives through them:
 * sweep → unlock → lock → cleanup → build (→ packer-exit) | resume → copy (beside smoke) → smoke → (discard, if it failed) → share → publish → protect | retire → distribute → account-smoke →
 * account-publish → retire-copy → release → notify (or notify-failure, if a step failed); the lifecycle commands
 * (promote, rollback, release, revoke, restore) take lock → repoint | hold → revoke → mark-descendant → release, and restore takes lock → (unbin, for what the Recycle Bin holds) → restore → unmark-descendant → repoint → release.
 */
import { packerVersion } from '../adapters/packer.ts';
import { gitCommit } from '../adapters/git.ts';
import { withColumns, type StageTable } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import { createBuildStage } from './build.ts';
import { createPackerExitStage, type PackerRuns } from './packer-exit.ts';
import { accountPublishStage } from './account-publish.ts';
import { createAccountSmokeStage } from './account-smoke.ts';
import { cleanupStage } from './cleanup.ts';
import { holdStage } from './hold.ts';
import { lockStage, releaseStage, unlockStage } from './lock.ts';
import { markDescendantStage } from './mark-descendant.ts';
import { unmarkDescendantStage } from './unmark-descendant.ts';
import { restoreStage } from './restore.ts';
import { unbinStage } from './unbin.ts';
import { protectStage } from './protect.ts';
import { publishStage } from './publish.ts';
import { repointStage } from './repoint.ts';
import { resumeStage } from './resume.ts';
import { retireStage } from './retire.ts';
import { retireCopyStage } from './retire-copy.ts';
import { accountRepointStage, accountRestoreStage, accountRevokeStage } from './account-lifecycle.ts';
import { revokeStage } from './revoke.ts';
import { shareStage } from './share.ts';
import { createSmokeStage } from './smoke.ts';
import { discardStage } from './discard.ts';
import { distributeStage } from './distribute.ts';
import { regionCopyStage } from './region-copy.ts';
import { createSmokeTest, type SmokeTestOptions } from './smoke-test.ts';
import { sweepStage } from './sweep.ts';
import { notifyFailureStage, notifyStage } from './notify.ts';

/** One per run: the tools' versions and the git commit are read once, not once per image. */
export function createLifecycle(context: Context, options: { smoke?: SmokeTestOptions } = {}): StageTable {
  const once = <T>(read: () => Promise<T>) => {
    let value: Promise<T> | undefined;
    return () => (value ??= read());
  };
  // A build hands its running Packer to its image's packer-exit step through this registry, never through its output.
  const packerRuns: PackerRuns = new Map();
  return withColumns({
    sweep: sweepStage,
    unlock: unlockStage,
    lock: lockStage,
    cleanup: cleanupStage,
    build: createBuildStage({ packer: once(packerVersion), gitCommit: once(() => gitCommit(context.cwd)), packerRuns }),
    'packer-exit': createPackerExitStage(packerRuns),
    resume: resumeStage,
    copy: regionCopyStage,
    smoke: createSmokeStage(createSmokeTest(options.smoke)),
    discard: discardStage,
    share: shareStage,
    'account-smoke': createAccountSmokeStage(createSmokeTest(options.smoke)),
    publish: publishStage,
    retire: retireStage,
    repoint: repointStage,
    hold: holdStage,
    revoke: revokeStage,
    'mark-descendant': markDescendantStage,
    'unmark-descendant': unmarkDescendantStage,
    restore: restoreStage,
    unbin: unbinStage,
    protect: protectStage,
    distribute: distributeStage,
    'account-publish': accountPublishStage,
    'retire-copy': retireCopyStage,
    'account-revoke': accountRevokeStage,
    'account-repoint': accountRepointStage,
    'account-restore': accountRestoreStage,
    release: releaseStage,
    notify: notifyStage,
    'notify-failure': notifyFailureStage,
  });
}
