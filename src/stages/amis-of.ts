/** The AMIs a step works on: given in the plan, or the output of the step it names whose row gives AMIs (a build or a resume). */
import { StepFailure, type BuiltAmis, type StepRun } from '../apply/step-stage.ts';
import type { AmiSource } from '../plan/run-plan.ts';

export function amisOf(run: StepRun, source: AmiSource): BuiltAmis {
  if ('amis' in source) return { amis: source.amis, snapshots: {}, baseAmiId: '' };
  const built = run.builtAmis(source.from);
  if (!built)
    throw new StepFailure(`the AMIs of ${source.from} are not known to this process`, [
      'apply the plan for this image in one process: `gild run <image> --plan <file>` runs its build, smoke test and publish together',
    ]);
  if (!source.copies) return built;
  // The build made the build region's AMI; gild's own copies (copy steps) made the others.
  const amis = { ...built.amis };
  const snapshots = { ...built.snapshots };
  for (const [region, copyStepId] of Object.entries(source.copies)) {
    const copy = run.output(copyStepId, 'copy');
    if (!copy)
      throw new StepFailure(`the copy in ${region} (${copyStepId}) is not known to this process`, ['apply the plan for this image in one process: its build, copies and publish run together']);
    amis[region] = copy.amiId;
    snapshots[region] = copy.snapshotIds;
  }
  return { amis, snapshots, baseAmiId: built.baseAmiId };
}

/** `us-east-1:ami-…, us-west-2:ami-…`: AMIs per region as logs and failures name them. */
export function regionalAmis(amis: Readonly<Record<string, string>>): string {
  return Object.entries(amis)
    .map(([region, amiId]) => `${region}:${amiId}`)
    .join(', ');
}
