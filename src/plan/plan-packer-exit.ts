/**
 * Packer exits well after its AMI exists: it terminates its build instance, deletes its key pair and security group,
 * and runs its post-processors (about 30 AWS seconds of an instance shutting down, docs/aws-clock.md). The build step
 * yields the AMI as soon as Packer has tagged it (src/stages/build.ts), so that the smoke test and the region copies
 * start meanwhile; this step is the rest of `packer build`, and what must not happen before Packer exited well waits
 * for it:
 *
 *   build ─→ smoke test ─────────────────────┐
 *        ├→ copies (finish after packer-exit) ┼→ share → publish
 *        └→ packer-exit ──────────────────────┘   (discard, if any of them failed)
 *
 * - every share and the publish wait for it: nothing is shared or published from a `packer build` that failed;
 * - each copy finishes only once it is done (`besideBuild`), and cancels and removes its copy otherwise;
 * - the discard steps wait for it too, so the AMIs it marks failed are removed (or kept, `smoke.onFailure: 'keep'`);
 * - an image built on this one in the same run starts from its tested AMI (`buildFromTestedBase`) without waiting
 *   for it, as a CI job building it would (it reads the `tested` tag; nothing in AWS says Packer exited). If Packer then
 *   fails, this image never publishes, and the dependant, whose publish waits for this one's, never does either: its
 *   AMIs are the next run's leftovers.
 *
 * A resumed build has no Packer: no step. Pure: it rearranges one image's steps.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { takesAmisFrom, type PlanStep, type StepOfKind } from './run-plan.ts';

/** The ID of the step that waits for an image's build's Packer to exit. */
export function packerExitIdOf(imageName: string): string {
  return `packer-exit:${imageName}`;
}

export function planPackerExit(image: ResolvedImage, steps: readonly PlanStep[]): PlanStep[] {
  const build = steps.find((step): step is StepOfKind<'build'> => step.kind === 'build' && step.image === image.name);
  if (!build) return [...steps];
  const id = packerExitIdOf(image.name);
  const fromBuild = (step: PlanStep) => takesAmisFrom(step, build.id);
  // NOTE: the smoke steps that test the build's own AMIs, not a region's test of a copy gild makes: that copy finishes
  // only after this step, so waiting for its test would wait for this step itself.
  const testsBuildAmis = (step: PlanStep) => step.kind === 'smoke' && step.image === image.name && fromBuild(step) && 'from' in step.amis && step.amis.copies === undefined;
  const smokeIds = steps.filter(testsBuildAmis).map((step) => step.id);
  const exit: StepOfKind<'packer-exit'> = {
    id,
    kind: 'packer-exit',
    image: image.name,
    version: build.version,
    build: build.id,
    besideSmoke: smokeIds,
    after: [build.id],
    reason:
      'the build hands on its AMI once Packer has tagged it, so that the smoke test and the copies start while Packer terminates its instance; ' +
      'nothing is shared or published unless Packer then exits 0 with a manifest naming that AMI',
    precondition: `the Packer this run started for ${image.name} ${build.version}`,
  };
  return steps.flatMap((step): PlanStep[] => {
    if (step === build) return [build, exit];
    if (!('image' in step) || step.image !== image.name) return [step];
    if ((step.kind === 'share' || step.kind === 'publish' || step.kind === 'discard') && fromBuild(step) && !step.after.includes(id)) return [{ ...step, after: [...step.after, id] }];
    if (step.kind === 'copy' && 'from' in step.source && step.source.from === build.id) return [{ ...step, besideBuild: id }];
    return [step];
  });
}
