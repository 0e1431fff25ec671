/**
 * Every step a step waits for before it can end, in the runner as it is: its `after`, and the steps its stage awaits
 * beside it (`run.settled`, src/apply/apply-plan.ts), which `after` does not name because the step must start first:
 * - a copy's `besideSmoke` (it ends once that smoke step settled without success) and `besideBuild` (it finishes only
 *   once that packer-exit step is done), src/stages/region-copy.ts;
 * - a packer-exit's `besideSmoke` (a failure is recorded only after those smoke steps' verdicts), src/stages/packer-exit.ts;
 * - a notification's `amis.from` and a failure notification's `publishStep` (it reads their results), src/stages/notify.ts.
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
    // Only a failure's notification reads the publish's result (src/stages/notify.ts, failureReportOf).
    if (step.kind === 'notify-failure' && step.publishStep !== undefined) waits.push({ id: step.publishStep, field: 'publishStep' });
  }
  return waits;
}

/** One wait of a circle: the step that waits, and what it waits for. */
export interface WaitEdge {
  readonly from: string;
  readonly wait: StepWait;
}

/**
 * The circles among the steps' waits (step ID → its waits; a wait for a step not in the map, or for itself, is
 * another problem, not a circle), each as its waits in order, the last one back to the first step. One circle per
 * tangle: a circle sharing a step with one already found is the same tangle seen from elsewhere. Depth-first without
 * recursion: a saved plan is outside input, and a chain of 100,000 steps must be refused, not overflow the stack.
 */
export function waitCircles(waiting: ReadonlyMap<string, readonly StepWait[]>): WaitEdge[][] {
  const circles: WaitEdge[][] = [];
  const done = new Set<string>();
  const inCircles = new Set<string>();
  for (const root of waiting.keys()) {
    if (done.has(root)) continue;
    // The path from the root: each step with the index of its next wait to follow, and the waits taken between them.
    const path: { id: string; next: number }[] = [{ id: root, next: 0 }];
    const taken: WaitEdge[] = [];
    const onPath = new Map<string, number>([[root, 0]]);
    while (path.length > 0) {
      const top = path.at(-1)!;
      const waits = waiting.get(top.id) ?? [];
      if (top.next >= waits.length) {
        path.pop();
        taken.pop();
        onPath.delete(top.id);
        done.add(top.id);
        continue;
      }
      const wait = waits[top.next++]!;
      if (wait.id === top.id || !waiting.has(wait.id) || done.has(wait.id)) continue;
      const at = onPath.get(wait.id);
      if (at !== undefined) {
        // NOTE: both ends of the back edge are on its circle: either already in one found is the same tangle, seen
        // without building the circle (a plan where every step waits for the first would otherwise be quadratic).
        if (inCircles.has(top.id) || inCircles.has(wait.id)) continue;
        const circle = [...taken.slice(at), { from: top.id, wait }];
        if (circle.some((edge) => inCircles.has(edge.from))) continue;
        for (const edge of circle) inCircles.add(edge.from);
        circles.push(circle);
        continue;
      }
      taken.push({ from: top.id, wait });
      onPath.set(wait.id, path.length);
      path.push({ id: wait.id, next: 0 });
    }
  }
  return circles;
}
