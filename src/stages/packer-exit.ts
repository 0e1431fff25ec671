/**
 * The rest of `packer build` after its AMI (src/plan/plan-packer-exit.ts): the build step hands on the AMI as soon as
 * Packer has tagged it, while Packer terminates its instance, deletes its key pair and group and runs its
 * post-processors; this step waits for Packer's exit. It is done only when Packer exited 0 and its manifest names the
 * AMIs the build handed on. Otherwise it marks those AMIs failed at once, as a failed smoke test does, marks again
 * whatever a smoke test beside it tagged tested meanwhile once those steps have ended (even when interrupted), and
 * fails: the shares and the publish wait for it and never run, each copy beside it cancels and removes its copy, and
 * the discard steps remove the AMIs.
 *
 * The running Packer reaches this step through a registry both stages close over (made once per run in
 * lifecycle.ts), never through the build step's output, which stays plain data.
 */
import path from 'node:path';
import type { PackerBuildResult } from '../adapters/packer.ts';
import { StepFailure, type StepStage } from '../apply/step-stage.ts';
import { regionalAmis } from './amis-of.ts';
import { describeAwsError } from '../errors.ts';
import { markFailed } from '../smoke/fail-image.ts';
import { imageOf } from './build.ts';

/** A `packer build` a build step of this run started, by that step's ID. */
export interface PackerRun {
  /** Packer's result once it exited. */
  readonly exit: Promise<PackerBuildResult>;
  /** The AMIs (and their snapshots) the build step handed on, per region. */
  readonly yielded: Readonly<Record<string, string>>;
  readonly snapshots: Readonly<Record<string, readonly string[]>>;
  /** True when the build handed them on before Packer exited. */
  readonly early: boolean;
}

export type PackerRuns = Map<string, PackerRun>;

/** What differs between the AMIs Packer's manifest names and those the build handed on, or undefined. */
export function manifestMismatch(manifest: Readonly<Record<string, string>>, yielded: Readonly<Record<string, string>>): string | undefined {
  const differing = Object.entries(yielded).filter(([region, amiId]) => manifest[region] !== amiId);
  if (differing.length === 0) return undefined;
  return `its manifest names ${differing.map(([region]) => `${region}:${manifest[region] ?? '(no AMI)'}`).join(', ')}, not the AMI${differing.length > 1 ? 's' : ''} the build handed on (${differing.map(([region, amiId]) => `${region}:${amiId}`).join(', ')})`;
}

export function createPackerExitStage(runs: PackerRuns): StepStage<'packer-exit'> {
  return {
    kind: 'packer-exit',
    title: (step) => `wait for Packer to finish ${step.image} ${step.version}`,
    async run(context, step, run) {
      const image = imageOf(run);
      const running = runs.get(step.build);
      if (!running) throw new StepFailure(`no Packer of ${step.build} ran in this process, so nothing says whether it exited well`, ['apply the build and this step in one process']);
      const result = await running.exit.catch((error: unknown): PackerBuildResult => ({ ok: false, reason: describeAwsError(error) }));
      // Read at Packer's exit: a Packer that failed after the interrupt was stopped by it, not failing on its own.
      const interruptedFirst = run.signal.aborted;
      const amis = regionalAmis(running.yielded);
      const problem = result.ok ? manifestMismatch(result.amis, running.yielded) : result.reason;
      if (problem === undefined) {
        if (running.early) run.logger.info(`Packer exited well after handing on ${amis}: its cleanup and post-processors are done`);
        return { exitedAt: context.now().toISOString() };
      }
      const log = `full log: ${path.relative(context.cwd, run.logFile)}`;
      // NOTE: interrupted, Packer keeps an AMI it had tagged (it only finished cleaning up): left as it is, tagged
      // candidate or tested, for the next run to resume (same fingerprint) or clean up.
      if (!result.ok && interruptedFirst) throw new StepFailure(`Packer was interrupted after making ${amis}; the next run resumes or cleans them up`, [log]);
      const reason = `packer build failed after making the AMI: ${problem}`;
      const mark = () => markFailed({ context, image, version: step.version, amis: running.yielded, snapshots: running.snapshots, reason, keepEarlierFailure: true });
      // Marked at once, so that whatever happens from here on (an interrupt, a crash) no later run resumes and publishes
      // what a failed `packer build` made. An AMI a failed test already marked keeps its own reason.
      const first = await mark().catch((error: unknown) => [`could not mark them failed yet: ${describeAwsError(error)}; trying again once the smoke tests ended`]);
      for (const line of first) run.logger.warn(line);
      // NOTE: a smoke test beside this step may still tag them tested after the mark, undoing it: once every smoke step
      // has ended (an interrupted one too: the runner waits for them all anyway), what is no longer failed is marked
      // again. The verdicts themselves (passed, skipped, failed) change nothing.
      await Promise.all(step.besideSmoke.map((id) => run.settled(id)?.catch(() => undefined)));
      const again = await mark().catch((error: unknown) => new StepFailure(`could not mark them failed: ${describeAwsError(error)}`));
      if (again instanceof StepFailure) run.logger.warn(again.message);
      // What the second look found already failed (the usual case) is for the log file only.
      else for (const line of again) run.logger.debug(`once the smoke tests ended: ${line}`);
      throw new StepFailure(`Packer build failed for image "${image.name}" after making ${amis}: ${problem}`, [
        log,
        again instanceof StepFailure
          ? `${again.message}: a later run that finds them unmarked tests them again or cleans them up`
          : 'the AMI is marked failed: nothing is shared or published, its copies are cancelled and removed, and the discard steps remove it',
        `reproduce: gild run ${image.name} --local --force`,
      ]);
    },
  };
}
