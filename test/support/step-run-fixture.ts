/**
 * A StepRun for calling one stage directly, as the runner would: the outputs
 * of the steps it depends on are given, deferred cleanups can be inspected.
 */
import type { LeaseScope } from '../../src/apply/lease-scope.ts';
import type { BuiltAmis, StepOutputs, StepResult, StepRun } from '../../src/apply/step-stage.ts';
import { stepTable } from '../../src/apply/step-table.ts';
import type { ResolvedImage } from '../../src/definition/resolved-image.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import type { PlanStepKind } from '../../src/plan/run-plan.ts';

export interface TestStepRun extends StepRun {
  readonly logger: ReturnType<typeof createMemoryLogger>;
  /** What the stage handed over with `settleLater`, for the test to await. */
  readonly settling: Promise<unknown>[];
  readonly abort: AbortController;
  readonly lostLease: string[];
}

export function stepRunFixture(
  image: ResolvedImage | undefined,
  options: { runDir?: string; outputs?: Record<string, { kind: PlanStepKind; output: unknown }>; settled?: Record<string, Promise<StepResult>> } = {},
): TestStepRun {
  const abort = new AbortController();
  const lostLease: string[] = [];
  const settling: Promise<unknown>[] = [];
  const runDir = options.runDir ?? '/tmp/gild-test-run';
  return {
    image,
    logger: createMemoryLogger(),
    runDir,
    logFile: `${runDir}/${image?.name ?? 'run'}.log`,
    signal: abort.signal,
    abort,
    defer: () => () => {},
    output<K extends PlanStepKind>(stepId: string, kind: K): StepOutputs[K] | undefined {
      const given = options.outputs?.[stepId];
      if (!given) return undefined;
      if (given.kind !== kind) throw new Error(`${stepId} is a ${given.kind} step, not ${kind}`);
      return given.output as StepOutputs[K];
    },
    settled: (stepId) => options.settled?.[stepId],
    // NOTE: `in`, not a read: a test's getter for a step's result is the event "the stage asked for it".
    inPlan: (stepId) => stepId in (options.settled ?? {}) || stepId in (options.outputs ?? {}),
    builtAmis(stepId: string): BuiltAmis | undefined {
      const given = options.outputs?.[stepId];
      if (!given) return undefined;
      if (!stepTable[given.kind].givesAmis) throw new Error(`${stepId} is a ${given.kind} step, whose row gives no AMIs`);
      return given.output as BuiltAmis;
    },
    lease: noLease,
    summary: [],
    settleLater: (_description, work) => void settling.push(work),
    settling,
    onLeaseLost: (reason) => void lostLease.push(reason),
    lostLease,
  };
}

/** One stage called directly holds no lease: a stage that reaches for it is a lock stage, tested through the runner. */
const refuse = (): never => {
  throw new Error('the step-run fixture holds no lease; test the lock steps through the runner');
};
const noLease: LeaseScope = { enter: refuse, takeOver: refuse, leave: refuse, staleLockMoved: refuse, close: refuse };
