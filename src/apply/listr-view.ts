/**
 * A live view of a run on a terminal: one listr2 task per image, one subtask
 * per plan step, each finishing when the runner reports that step's result.
 * The runner decides and does everything; this only shows it. Off a terminal
 * the run's log lines are the view (plain lines suit CI logs better).
 */
import { Listr, type ListrTask } from 'listr2';
import type { RunPlan, PlanStep } from '../plan/run-plan.ts';
import type { StepEvent } from './apply-plan.ts';
import type { StepResult } from './step-stage.ts';

export interface ListrView {
  readonly onStep: (event: StepEvent) => void;
  /** Resolves once every task has settled (after the run ended). */
  readonly done: Promise<void>;
}

export function startListrView(plan: RunPlan, only: readonly string[] | undefined): ListrView {
  const waiting = new Map<string, (result: StepResult) => void>();
  const ended = new Map<string, StepResult>();
  const resultOf = (id: string) => (ended.has(id) ? Promise.resolve(ended.get(id)!) : new Promise<StepResult>((resolve) => waiting.set(id, resolve)));
  const groups = new Map<string, PlanStep[]>();
  for (const step of plan.steps) {
    const group = 'image' in step ? step.image : 'leftovers of earlier runs';
    if (only && 'image' in step && !only.includes(step.image)) continue;
    groups.set(group, [...(groups.get(group) ?? []), step]);
  }
  const tasks: ListrTask[] = [...groups].map(([group, steps]) => ({
    title: group,
    task: (_context, task) =>
      task.newListr(
        steps.map((step) => ({
          title: step.id,
          task: async (_inner, subtask) => {
            const result = await resultOf(step.id);
            if (result.status === 'skipped' || result.status === 'moved') subtask.skip(`${step.id}: ${result.status === 'moved' ? 'the world moved: ' : ''}${result.reason}`);
            if (result.status === 'failed') throw new Error(`${step.id}: ${result.reason}`);
          },
        })),
        { concurrent: true, exitOnError: false },
      ),
  }));
  const list = new Listr(tasks, { concurrent: true, exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseSubtasks: false } });
  const done = list.run().then(
    () => undefined,
    // Failures are the runner's to report; the view only showed them.
    () => undefined,
  );
  return {
    onStep(event) {
      if (event.phase !== 'ended') return;
      ended.set(event.step.id, event.result);
      waiting.get(event.step.id)?.(event.result);
    },
    done,
  };
}
