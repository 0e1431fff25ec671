/**
 * Which runner step the code running now belongs to, for labelling AWS requests (aws-client-config.ts): the runner
 * runs each step's stage inside `runInStep`, and whatever that stage awaits, timers included, sees the step's id.
 * The test suite uses the label to prove that no AWS write happens outside a runner step
 * (test/integration/step-labels.test.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const currentStep = new AsyncLocalStorage<string>();

/** Runs `work` as part of step `stepId`. */
export function runInStep<Result>(stepId: string, work: () => Promise<Result>): Promise<Result> {
  return currentStep.run(stepId, work);
}

/** The id of the step the caller runs in, or undefined outside every step. */
export function stepRunningNow(): string | undefined {
  return currentStep.getStore();
}

/**
 * Runs `work` as a write gild makes outside the plan on purpose, named by `what`: the CI job's end marker
 * (src/apply/job-end.ts), written after the runner finished or when the plan was refused before any runner started;
 * and the emulator target's own set-up (src/local/prepare-emulator.ts: moto's IAM holds none of the instance profiles
 * an AWS account already has), which changes no account of the user's. The suite allows exactly the names it lists
 * (test/support/step-ledger.ts) and fails on any other.
 */
export function runOutsideThePlan<Result>(what: 'job-end' | 'emulator-setup', work: () => Promise<Result>): Promise<Result> {
  return currentStep.run(`outside-plan:${what}`, work);
}
