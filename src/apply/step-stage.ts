/**
 * A stage carries out one kind of plan step. The lifecycle table
 * (`src/stages/lifecycle.ts`) puts every step kind's stage beside its row of
 * policy columns (`step-table.ts`); the runner (`apply-plan.ts`) is the only
 * caller and the only place that decides, from the row, whether a stage runs
 * at all (dependencies, interrupts, the lease, its precondition).
 */
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Logger } from '../logger.ts';
import type { Lease } from '../observe/inventory.ts';
import type { PlanStepKind, StepOfKind } from '../plan/run-plan.ts';
import type { SmokeResult } from '../stages/stage.ts';
import type { LeaseScope } from './lease-scope.ts';
import { stepTable, type StepColumns } from './step-table.ts';

/** AMIs of one build, per region: what `build` and `resume` hand to `smoke` and `publish`. */
export interface BuiltAmis {
  readonly amis: Readonly<Record<string, string>>;
  readonly snapshots: Readonly<Record<string, readonly string[]>>;
  readonly baseAmiId: string;
}

export interface PublishedAmis {
  readonly version: string;
  readonly amis: Readonly<Record<string, string>>;
}

/** What each kind of step gives the steps after it. */
export interface StepOutputs {
  sweep: { readonly done: string };
  unlock: { readonly removed: string };
  lock: { readonly lease: Lease };
  release: { readonly released: boolean };
  cleanup: { readonly removed: readonly string[] };
  build: BuiltAmis;
  resume: BuiltAmis;
  /** A gild-owned copy of the build region's AMI in another region, available and of a source that passed its smoke test. */
  copy: { readonly region: string; readonly amiId: string; readonly snapshotIds: readonly string[] };
  /** When `packer build` exited well, after the AMI its build step yielded. */
  'packer-exit': { readonly exitedAt: string };
  smoke: SmokeResult;
  discard: { readonly removed: readonly string[]; readonly withdrawn: readonly string[] };
  share: { readonly amiId: string; readonly snapshotIds: readonly string[] };
  publish: PublishedAmis;
  retire: { readonly removed: readonly string[] };
  repoint: { readonly moved: readonly string[] };
  hold: { readonly written: boolean };
  revoke: { readonly amiId: string };
  'mark-descendant': { readonly amiId: string };
  'unmark-descendant': { readonly amiId: string; readonly unmarked: boolean };
  restore: { readonly amiId: string };
  unbin: { readonly amiId: string; readonly snapshotIds: readonly string[] };
  protect: { readonly amiId: string; readonly protected: boolean };
  distribute: { readonly account: string; readonly region: string; readonly amiId: string };
  'account-smoke': SmokeResult;
  'account-publish': PublishedAmis & { readonly account: string };
  'retire-copy': { readonly removed: readonly string[] };
  'account-revoke': { readonly amiId: string };
  'account-repoint': { readonly moved: readonly string[] };
  'account-restore': { readonly amiId: string };
  notify: NotificationSent;
  'notify-failure': NotificationSent;
}

/** Where a notification went and the ID the service gave it (SNS's MessageId, EventBridge's EventId). */
export interface NotificationSent {
  readonly target: string;
  readonly messageId: string | undefined;
}

export type StepResult<K extends PlanStepKind = PlanStepKind> =
  | { readonly status: 'done'; readonly output: StepOutputs[K]; readonly durationMs: number }
  /** The stage ran and failed; the error keeps its cause and details. */
  | { readonly status: 'failed'; readonly reason: string; readonly error: unknown; readonly durationMs: number }
  /** Not run: a dependency did not succeed, the run was interrupted, or the image's lease was lost or never taken. */
  | { readonly status: 'skipped'; readonly reason: string }
  /** Not run: the live state no longer matches the plan's precondition. */
  | { readonly status: 'moved'; readonly reason: string };

/** What a stage gets besides its step: the image, a logger, the way to its inputs and to cleanup. */
export interface StepRun {
  readonly image: ResolvedImage | undefined;
  readonly logger: Logger;
  /** `.gild/runs/<run-id>/` */
  readonly runDir: string;
  /** The image's log file (or the run's, for steps of no image). */
  readonly logFile: string;
  /** Aborted on SIGINT/SIGTERM, and for an image whose lock was lost. */
  readonly signal: AbortSignal;
  /** Registers cleanup that must run even if the process is interrupted; the result unregisters it. */
  readonly defer: (description: string, cleanup: () => Promise<void>) => () => void;
  /**
   * The output of an earlier step this step depends on (by step id), or undefined when that step is not part of
   * what this process applies (one CI job per image applying a shared plan reads it from AWS instead).
   */
  output<K extends PlanStepKind>(stepId: string, kind: K): StepOutputs[K] | undefined;
  /** Lines for the end-of-run summary. */
  readonly summary: string[];
  /**
   * Hands the runner work this step started that nothing after it waits for (confirming that a smoke instance is
   * terminated, deleting a build's security group): the step's dependants go on, and the runner awaits the work
   * before the run ends, logging a failure. Whatever must happen even on an interrupt is also `defer`red.
   */
  readonly settleLater: (description: string, work: Promise<unknown>) => void;
  /** Called when the image's lease is lost (by the lease scope, or a fake of it): the runner stops the image's work. */
  readonly onLeaseLost: (reason: string) => void;
  /** The image's lease, which the runner holds as a scope around its steps; entered and left by the lock steps. */
  readonly lease: LeaseScope;
  /**
   * The result of another step once it has settled (by step id), for a step that runs beside it rather than after it
   * (a region copy beside its image's smoke test); undefined when that step is not part of what this process applies.
   */
  settled(stepId: string): Promise<StepResult> | undefined;
  /** Whether that step is part of what this process applies, without starting it (as `settled` would). */
  inPlan(stepId: string): boolean;
  /** The AMIs per region of an earlier step whose row gives AMIs (a build or a resume), as `output` does. */
  builtAmis(stepId: string): BuiltAmis | undefined;
}

/** A stage failure that is an expected outcome (smoke failed, Packer failed): message plus details, no stack. */
export class StepFailure extends Error {
  override readonly name = 'StepFailure';
  constructor(
    message: string,
    readonly details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The world moved under a step that had started (a lock taken first, a version published meanwhile). */
export class WorldMoved extends Error {
  override readonly name = 'WorldMoved';
}

/**
 * The work of one kind of step: what it is called, how it re-checks its precondition, and what it does. Whether,
 * when and within what it runs is its row's columns (`step-table.ts`), never the stage's to say.
 */
export interface StepStage<K extends PlanStepKind> {
  readonly kind: K;
  readonly title: (step: StepOfKind<K>) => string;
  /** Re-checks the step's precondition against live state right before it runs: a string says what moved. */
  check?(context: Context, step: StepOfKind<K>, run: StepRun): Promise<false | string>;
  run(context: Context, step: StepOfKind<K>, run: StepRun): Promise<StepOutputs[K]>;
}

/** One row of the lifecycle table: the policy columns beside the stage that carries the step out. */
export type StageRow<K extends PlanStepKind> = StepColumns & StepStage<K>;

export type StageTable = { readonly [K in PlanStepKind]: StageRow<K> };

/** The lifecycle table from its stages: each gets its kind's row of `stepTable`. */
export function withColumns(stages: { readonly [K in PlanStepKind]: StepStage<K> }, columns: { readonly [K in PlanStepKind]: StepColumns } = stepTable): StageTable {
  return Object.fromEntries(Object.entries(stages).map(([kind, stage]) => [kind, { ...stage, ...columns[kind as PlanStepKind] }])) as unknown as StageTable;
}
