/**
 * The step table is the policy: one row per kind of plan step, and in each row
 * the columns the runner (`apply-plan.ts`), the trip's outcome (`run-trip.ts`)
 * and the error catalogue (`errors.ts`) read. None of them asks which kind a
 * step is; they ask its row. A new kind of step is a new row; a new rule is a
 * new column with a default, set on the rows it concerns (one line each).
 *
 * Pure data (and pure checks): no stage, no SDK, so the error catalogue and the
 * saved-plan check can read it without loading the stages. The lifecycle table
 * (`src/stages/lifecycle.ts`) puts each row beside the stage that carries it out.
 */
import type { PlanStepKind, StepOfKind } from '../plan/run-plan.ts';

/** Where in an image's life a step belongs; what the error catalogue tells people about a failure there. */
export type StepPhase = 'housekeeping' | 'lease' | 'build' | 'test' | 'publish' | 'retire' | 'lifecycle' | 'distribution' | 'notify';

export interface StepColumns {
  /** Changes AWS: it runs only inside its image's lease (unless it is what takes the lease). */
  readonly mutates: boolean;
  /** Holds one of the run's concurrency slots while it runs (builds and smoke tests); waiting never does. */
  readonly heavy: boolean;
  /**
   * Its part in the image's lease, which the runner holds as a scope around the image's steps: `takes` enters it
   * (runs before the lease is held), `gives-back` leaves it, `inside` runs within it, `outside` needs none: it changes
   * nothing of the image (a notification), so it may run after the lease is given back, or when the lock failed.
   */
  readonly lease: 'takes' | 'gives-back' | 'inside' | 'outside';
  /** Runs whatever happened to the steps it waits for (giving the lease back); only a lease never taken skips it. */
  readonly runsAlways: boolean;
  /**
   * A step that did not succeed skips the steps waiting for it. A row that orders without gating (the sweep of dead
   * runs' leftovers: one that cannot go must not stop every image) still gates the steps that themselves only order,
   * since a security group cannot go while its instance lives.
   */
  readonly gatesDependants: boolean;
  /**
   * Its failure fails the image's outcome. A row that is only best effort (telling people) reports its failure and
   * leaves the outcome to the image's other steps: a failure to notify never fails a publish.
   */
  readonly failsImage: boolean;
  /** Found "moved" (another run got there first), it makes the image's outcome "yielded", not a failure. */
  readonly yieldsWhenMoved: boolean;
  /** Done, it makes the image's outcome "published", with the version and AMIs of its output. */
  readonly publishes: boolean;
  /** Its output is the AMIs of one build, per region, which the smoke test, share and publish take (`amisOf`). */
  readonly givesAmis: boolean;
  /** Another CI job's step of this row is waited for (`--wait-for-bases`) when a step of this job names it. */
  readonly awaitedAcrossJobs: boolean;
  /**
   * When the runner runs it: `dependencies-done`, once every step it waits for is done; `a-dependency-failed`, only
   * when a step it waits for failed (the removal of a failed smoke test's AMIs), else it is skipped as not needed.
   */
  readonly runsWhen: 'dependencies-done' | 'a-dependency-failed';
  readonly phase: StepPhase;
  /**
   * Checks what the stage returned, before anything after it sees it (semantic-release's `outputValidator`): a
   * problem string fails the step with it.
   */
  readonly checkOutput?: ((step: never, output: never) => string | undefined) | undefined;
}

/** What every row is unless it says otherwise: a light, mutating step inside the lease, gating what waits for it. */
const defaults: Omit<StepColumns, 'phase'> = {
  mutates: true,
  heavy: false,
  lease: 'inside',
  runsAlways: false,
  gatesDependants: true,
  failsImage: true,
  yieldsWhenMoved: false,
  publishes: false,
  givesAmis: false,
  awaitedAcrossJobs: false,
  runsWhen: 'dependencies-done',
};

type Row<K extends PlanStepKind> = StepColumns & { readonly checkOutput?: (step: StepOfKind<K>, output: AmisPerRegion) => string | undefined };
interface AmisPerRegion {
  readonly amis: Readonly<Record<string, string>>;
}

const row = <K extends PlanStepKind>(columns: Partial<Row<K>> & Pick<StepColumns, 'phase'>): StepColumns => ({ ...defaults, ...columns }) as StepColumns;

/** A build or resume hands on one AMI per region it was for, or it failed there. */
const amiPerRegion = (regions: readonly string[], output: AmisPerRegion): string | undefined => {
  const missing = regions.filter((region) => !output.amis[region]);
  return missing.length > 0 ? `it returned no AMI for ${missing.join(', ')}` : undefined;
};

export const stepTable: { readonly [K in PlanStepKind]: StepColumns } = {
  sweep: row({ phase: 'housekeeping', gatesDependants: false }),
  unlock: row({ phase: 'lease', lease: 'takes', yieldsWhenMoved: true }),
  lock: row({ phase: 'lease', lease: 'takes', yieldsWhenMoved: true }),
  cleanup: row({ phase: 'build' }),
  build: row<'build'>({ phase: 'build', heavy: true, yieldsWhenMoved: true, givesAmis: true, checkOutput: (step, output) => amiPerRegion(step.regions, output) }),
  resume: row<'resume'>({ phase: 'build', yieldsWhenMoved: true, givesAmis: true, checkOutput: (step, output) => amiPerRegion(Object.keys(step.amis), output) }),
  // Waiting on AWS's copy holds no slot: the copies of one image must not keep the next image from building.
  copy: row({ phase: 'build' }),
  // Light: Packer's cleanup after its AMI is waiting, and the build's slot was given back when it yielded the AMI.
  'packer-exit': row({ phase: 'build' }),
  // Awaited across jobs: with gild's region copies a dependant builds on its base's tested AMI, before the base publishes.
  smoke: row({ phase: 'test', heavy: true, awaitedAcrossJobs: true }),
  discard: row({ phase: 'test', runsWhen: 'a-dependency-failed' }),
  share: row({ phase: 'publish', yieldsWhenMoved: true }),
  publish: row({ phase: 'publish', yieldsWhenMoved: true, publishes: true, awaitedAcrossJobs: true }),
  retire: row({ phase: 'retire' }),
  repoint: row({ phase: 'lifecycle' }),
  hold: row({ phase: 'lifecycle' }),
  revoke: row({ phase: 'lifecycle' }),
  'mark-descendant': row({ phase: 'lifecycle' }),
  'unmark-descendant': row({ phase: 'lifecycle' }),
  restore: row({ phase: 'lifecycle' }),
  unbin: row({ phase: 'lifecycle' }),
  protect: row({ phase: 'publish' }),
  distribute: row({ phase: 'distribution' }),
  'account-smoke': row({ phase: 'distribution', heavy: true }),
  'account-publish': row({ phase: 'distribution' }),
  'retire-copy': row({ phase: 'retire' }),
  'account-revoke': row({ phase: 'distribution' }),
  'account-repoint': row({ phase: 'distribution' }),
  'account-restore': row({ phase: 'distribution' }),
  release: row({ phase: 'lease', lease: 'gives-back', runsAlways: true }),
  // Telling people changes nothing of the image: no lease, nothing waits for it, and its failure is only reported.
  notify: row({ phase: 'notify', lease: 'outside', gatesDependants: false, failsImage: false }),
  'notify-failure': row({ phase: 'notify', lease: 'outside', gatesDependants: false, failsImage: false, runsWhen: 'a-dependency-failed' }),
};

/** The row of a step kind named by a string (an outcome's stage, which may also be "plan"); undefined for none. */
export function columnsOf(kind: string): StepColumns | undefined {
  return Object.hasOwn(stepTable, kind) ? stepTable[kind as PlanStepKind] : undefined;
}
