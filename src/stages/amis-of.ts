/** The AMIs a step works on: given in the plan, or the output of the build or resume step it names. */
import { StepFailure, type BuiltAmis, type StepRun } from '../apply/step-stage.ts';
import type { AmiSource } from '../plan/run-plan.ts';

export function amisOf(run: StepRun, source: AmiSource): BuiltAmis {
  if ('amis' in source) return { amis: source.amis, snapshots: {}, baseAmiId: '' };
  const kind = source.from.startsWith('resume:') ? 'resume' : 'build';
  const built = run.output(source.from, kind);
  if (!built) throw new StepFailure(`the AMIs of ${source.from} are not known to this process`, ['apply the plan for this image in one process: `gild run <image> --plan <file>` runs its build, smoke test and publish together']);
  return built;
}
