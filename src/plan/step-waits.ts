/**
 * Every step a step waits for before it can end, in the runner as it is: its `after`, and the steps its stage awaits
 * beside it (`run.settled`, src/apply/apply-plan.ts), which `after` does not name because the step must start first:
 * - a copy's `besideSmoke` (it ends once that smoke step settled without success) and `besideBuild` (it finishes only
 *   once that packer-exit step is done), src/stages/region-copy.ts;
 * - a packer-exit's `besideSmoke` (a failure is recorded only after those smoke steps' verdicts), src/stages/packer-exit.ts;
 * - a notification's `amis.from` and `publishStep` (it reads their results), src/stages/notify.ts.
 * A circle through any of them is a run that never ends, so a saved plan's circle check counts them all. (The build
 * only asks whether its packer-exit step exists; it never waits for it.) Pure.
 */
import type { PlanStep } from './run-plan.ts';

export interface StepWait {
  /** The step waited for. */
  readonly id: string;
  /** The field that names it: `after`, or the field of a wait beside it (`besideSmoke`, `besideBuild`, `amis.from`, `publishStep`). */
  readonly field: 'after' | 'besideSmoke' | 'besideBuild' | 'amis.from' | 'publishStep';
}

export function stepWaits(step: PlanStep): StepWait[] {
  const waits: StepWait[] = step.after.map((id) => ({ id, field: 'after' }));
  if (step.kind === 'copy') {
    if (step.besideSmoke !== undefined) waits.push({ id: step.besideSmoke, field: 'besideSmoke' });
    if (step.besideBuild !== undefined) waits.push({ id: step.besideBuild, field: 'besideBuild' });
  }
  if (step.kind === 'packer-exit') waits.push(...step.besideSmoke.map((id) => ({ id, field: 'besideSmoke' as const })));
  if (step.kind === 'notify' || step.kind === 'notify-failure') {
    if ('from' in step.amis) waits.push({ id: step.amis.from, field: 'amis.from' });
    if (step.publishStep !== undefined) waits.push({ id: step.publishStep, field: 'publishStep' });
  }
  return waits;
}
