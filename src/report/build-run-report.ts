/**
 * Builds the report of a command that changed AWS (`run`, `retire`,
 * `promote`, `rollback`, `release`, `revoke`) from what it already knows: the
 * applied plan (every step's result and duration), each image's outcome, and
 * the smoke evidence the smoke stage wrote. Pure: the writer reads the files.
 */
import path from 'node:path';
import { detailsOf, settleStepId, type AppliedPlan, type SettleFailure } from '../apply/apply-plan.ts';
import type { ImageOutcome } from '../apply/run-trip.ts';
import type { StepOutputs } from '../apply/step-stage.ts';
import type { PlanStep } from '../plan/run-plan.ts';
import type { SmokeReport } from '../smoke/write-smoke-report.ts';
import type { LogTail } from './read-log-tail.ts';
import { reportSchemaVersion, type ImageReport, type ReportCommandName, type RunReport, type SmokeEvidence, type StepReport } from './report-schema.ts';

export interface RunReportInput {
  readonly applied: AppliedPlan;
  readonly outcomes: readonly ImageOutcome[];
  /** The command line as typed, e.g. `gild run web`. */
  readonly command: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /** Paths in the report are relative to this folder (the project). */
  readonly cwd: string;
  /** `<image>.smoke.json` per image, where the smoke stage wrote one. */
  readonly smokeReports: Readonly<Record<string, SmokeReport>>;
  /** The last lines of each failed image's log, and whether the bound on reading it left some out. */
  readonly logTails: Readonly<Record<string, LogTail>>;
  /** Which command this is (default `run`). */
  readonly commandName?: ReportCommandName;
  /** The command that reproduces an image's failure (default: `run` it locally against the emulator). */
  readonly reproduce?: (image: string) => string;
  /** The published version an AMI is, where known (to say which version a pointer moved from). */
  readonly versionOfAmi?: (image: string, region: string, amiId: string) => string | undefined;
}

/** Enough of a check's output to see why it failed; the whole output is in the image's log. */
const excerptChars = 2000;

/** Kinds in the order an image goes through them: the furthest one done is the stage it reached. */
const lifecycleOrder = ['lock', 'cleanup', 'build', 'resume', 'smoke', 'share', 'publish', 'repoint', 'hold', 'revoke', 'restore', 'retire'] as const;

/** Step kinds that change something: a lifecycle command that did one of them for an image `changed` it. */
const changingKinds: ReadonlySet<string> = new Set([
  'unlock',
  'cleanup',
  'repoint',
  'hold',
  'revoke',
  'restore',
  'unbin',
  'mark-descendant',
  'unmark-descendant',
  'protect',
  'retire',
  'account-revoke',
  'account-repoint',
  'account-restore',
]);

export function buildRunReport(input: RunReportInput): RunReport {
  const { applied } = input;
  const images = input.outcomes.map((outcome) => imageReport(input, outcome));
  const counts: Record<string, number> = {};
  for (const image of images) counts[image.result] = (counts[image.result] ?? 0) + 1;
  const runSteps = [...applied.plan.steps.filter((step) => !('image' in step)).map((step) => stepReport(applied, step)), ...applied.settleFailures.map(settleReport)];
  // A failed sweep (or a smoke instance left running) stops no image, but the run did not do all it planned: it failed.
  const failed = images.some((image) => image.result === 'failed') || runSteps.some((step) => step.status === 'failed');
  // NOTE: a notification that could not be sent fails nothing (the publish stands), but nobody may have been told: said.
  const notifyWarnings = images.flatMap((image) =>
    (image.notifications ?? []).filter((sent) => sent.status === 'failed').map((sent) => `${image.image}: could not tell ${sent.target} of ${sent.event}: ${sent.outcome ?? 'failed'}`),
  );
  const result = failed ? 'failed' : images.some((image) => image.result === 'interrupted') ? 'interrupted' : 'succeeded';
  return {
    schema: reportSchemaVersion,
    runId: applied.plan.runId,
    command: input.command,
    commandName: input.commandName ?? 'run',
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    ssmPrefix: applied.plan.ssmPrefix,
    result,
    counts,
    images,
    runSteps,
    ...(notifyWarnings.length > 0 ? { warnings: notifyWarnings } : {}),
  };
}

function imageReport(input: RunReportInput, outcome: ImageOutcome): ImageReport {
  const { applied } = input;
  const decision = applied.plan.images.find((candidate) => candidate.image === outcome.image);
  const planSteps = applied.plan.steps.filter((step) => 'image' in step && step.image === outcome.image);
  const steps = planSteps.map((step) => stepReport(applied, step));
  const done = (kind: string) => steps.some((step) => step.kind === kind && step.status === 'done');
  const reached = [...lifecycleOrder].reverse().find(done);
  const publish = planSteps.find((step) => step.kind === 'publish');
  const published = publish && applied.results.get(publish.id)?.status === 'done' ? (applied.results.get(publish.id) as { output: StepOutputs['publish'] }).output : undefined;
  const built = builtAmis(applied, planSteps);
  const smoke = input.smokeReports[outcome.image];
  const logFile = applied.logFiles.get(outcome.image);
  const doneSteps = planSteps.filter((step) => applied.results.get(step.id)?.status === 'done');
  const changed = (input.commandName ?? 'run') !== 'run' && outcome.result === 'unchanged' && doneSteps.some((step) => changingKinds.has(step.kind));
  const pointersMoved = doneSteps.flatMap((step) =>
    step.kind === 'repoint'
      ? step.moves.map((move) => {
          const fromVersion = move.previous === undefined ? undefined : input.versionOfAmi?.(outcome.image, move.region, move.previous);
          return {
            pointer: step.pointer,
            region: move.region,
            name: move.name,
            ...(move.previous ? { from: move.previous } : {}),
            ...(fromVersion ? { fromVersion } : {}),
            to: move.amiId,
            toVersion: step.version,
          };
        })
      : [],
  );
  const holds = doneSteps.flatMap((step) => (step.kind === 'hold' ? [holdReport(step)] : []));
  return {
    image: outcome.image,
    action: decision?.action ?? 'unknown',
    reason: decision?.reason ?? '',
    result: changed ? 'changed' : outcome.result,
    ...('reason' in outcome && outcome.result !== 'failed' ? { resultReason: outcome.reason } : {}),
    ...(reached ? { stageReached: reached } : {}),
    ...(decision && 'currentVersion' in decision && decision.currentVersion ? { previousVersion: decision.currentVersion } : {}),
    ...optionalVersion(outcome, decision),
    amis: published?.amis ?? built ?? {},
    durationMs: steps.reduce((total, step) => total + (step.durationMs ?? 0), 0),
    steps,
    ...(smoke ? { smoke: smokeEvidence(smoke, input) } : {}),
    parametersWritten: [
      ...(publish?.kind === 'publish' && published
        ? publish.writes.map((write) => ({
            region: write.region,
            name: write.name,
            ...(published.amis[write.region] ? { value: published.amis[write.region] } : {}),
            ...(write.previous ? { previous: write.previous } : {}),
          }))
        : []),
      ...pointersMoved.map((move) => ({ region: move.region, name: move.name, value: move.to, ...(move.from ? { previous: move.from } : {}) })),
      ...doneSteps.flatMap((step) =>
        step.kind === 'hold' && step.value !== undefined ? [{ region: step.region, name: step.parameterName, value: step.value, ...(step.previous ? { previous: step.previous } : {}) }] : [],
      ),
    ],
    retired: planSteps.flatMap((step) =>
      step.kind === 'retire' && applied.results.get(step.id)?.status === 'done' ? [{ region: step.region, amiId: step.amiId, version: step.version, phase: step.phase, reason: step.reason }] : [],
    ),
    pointersMoved,
    holds,
    revoked: doneSteps.flatMap((step) =>
      step.kind === 'revoke' && step.phase !== 'deprecate' ? [{ region: step.region, amiId: step.amiId, version: step.version, reason: step.revokedReason, disable: step.disable }] : [],
    ),
    kept: applied.plan.kept
      .filter((kept) => kept.image === outcome.image)
      .map((kept) => ({ region: kept.region, amiId: kept.amiId, ...(kept.version ? { version: kept.version } : {}), reason: kept.reason })),
    ...notificationsOf(applied, planSteps),
    summary: outcome.result === 'skipped' ? [] : [...outcome.summary],
    ...(outcome.result === 'failed'
      ? {
          failure: {
            stage: outcome.stage,
            message: outcome.reason,
            details: [...outcome.details],
            causes: causesOf(outcome.error),
            ...(logFile ? { logFile: relative(input.cwd, logFile) } : {}),
            logTail: [...(input.logTails[outcome.image]?.lines ?? [])],
            ...(input.logTails[outcome.image]?.cut ? { logTailCut: input.logTails[outcome.image]!.cut } : {}),
            reproduce: (input.reproduce ?? reproduceCommand)(outcome.image),
          },
        }
      : {}),
  };
}

/** The image's notify steps: whom it told what, or why not. Only when the plan had any (settings `notify`). */
function notificationsOf(applied: AppliedPlan, steps: readonly PlanStep[]): { notifications?: NonNullable<ImageReport['notifications']> } {
  type Notification = NonNullable<ImageReport['notifications']>[number];
  const notifications = steps.flatMap((step): Notification[] => {
    if (step.kind !== 'notify' && step.kind !== 'notify-failure') return [];
    const result = applied.results.get(step.id);
    const target = step.target.kind === 'sns' ? step.target.topicArn : `EventBridge bus ${step.target.bus} in ${step.target.region}`;
    const base = { event: `gild.image.${step.event}`, target, ...(step.version ? { version: step.version } : {}) };
    if (!result) return [{ ...base, status: 'not-run' as const }];
    if (result.status === 'done') {
      const sent = result.output as StepOutputs['notify'];
      return [{ ...base, status: 'sent' as const, ...(sent.messageId ? { messageId: sent.messageId } : {}) }];
    }
    return [{ ...base, status: result.status === 'skipped' ? ('skipped' as const) : result.status === 'moved' ? ('moved' as const) : ('failed' as const), outcome: result.reason }];
  });
  return notifications.length > 0 ? { notifications } : {};
}

/** A hold placed (its record is the value written) or removed (its record is the value it held). */
function holdReport(step: Extract<PlanStep, { kind: 'hold' }>): NonNullable<ImageReport['holds']>[number] {
  const pointer = step.parameterName.slice(step.parameterName.lastIndexOf('/holds/') + '/holds/'.length);
  const record = parseHold(step.value ?? step.previous);
  return { pointer, region: step.region, parameterName: step.parameterName, change: step.value === undefined ? 'removed' : 'placed', ...record };
}

function parseHold(raw: string | undefined): { version?: string; reason?: string; at?: string; by?: string } {
  if (raw === undefined) return {};
  try {
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    const text = (key: string) => (typeof parsed[key] === 'string' ? { [key]: parsed[key] as string } : {});
    return { ...text('version'), ...text('reason'), ...text('at'), ...text('by') };
  } catch {
    // NOTE: a hold written by hand need not be JSON; the report still says it was placed or removed.
    return {};
  }
}

function optionalVersion(outcome: ImageOutcome, decision: AppliedPlan['plan']['images'][number] | undefined): { version?: string } {
  if (outcome.result === 'published') return { version: outcome.version };
  if (outcome.result === 'unchanged') return outcome.version ? { version: outcome.version } : {};
  if (decision && 'nextVersion' in decision) return { version: decision.nextVersion };
  if (decision?.action === 'finish') return { version: decision.version };
  return {};
}

/** The candidate AMIs a build or resume produced, for an image that did not get as far as publishing. */
function builtAmis(applied: AppliedPlan, steps: readonly PlanStep[]): Record<string, string> | undefined {
  for (const step of steps) {
    const result = applied.results.get(step.id);
    if ((step.kind === 'build' || step.kind === 'resume') && result?.status === 'done') return { ...(result.output as StepOutputs['build']).amis };
  }
  return undefined;
}

function stepReport(applied: AppliedPlan, step: PlanStep): StepReport {
  const result = applied.results.get(step.id);
  const region = 'region' in step ? step.region : undefined;
  const base = { id: step.id, kind: step.kind, ...(region ? { region } : {}), reason: step.reason };
  if (!result) return { ...base, status: 'not-run' };
  switch (result.status) {
    case 'done':
      return { ...base, status: 'done', durationMs: Math.round(result.durationMs) };
    case 'failed': {
      const details = detailsOf(result.error);
      return { ...base, status: 'failed', outcome: result.reason, ...(details.length > 0 ? { details } : {}), durationMs: Math.round(result.durationMs) };
    }
    default:
      return { ...base, status: result.status, outcome: result.reason };
  }
}

/** Work a step left to settle that failed, reported where a failed run-wide step is. */
function settleReport(failure: SettleFailure): StepReport {
  const details = detailsOf(failure.error);
  return { id: settleStepId(failure), kind: 'settle', status: 'failed', reason: failure.description, outcome: failure.reason, ...(details.length > 0 ? { details } : {}) };
}

function smokeEvidence(smoke: SmokeReport, input: RunReportInput): SmokeEvidence {
  return {
    result: smoke.result,
    ...(smoke.reason ? { reason: smoke.reason } : {}),
    region: smoke.region,
    amiId: smoke.amiId,
    checks: smoke.checks.map((check) => ({
      name: check.name,
      instanceType: check.instanceType,
      instanceId: check.instanceId,
      outcome: check.outcome,
      ...(check.reason ? { reason: check.reason } : {}),
      status: check.status,
      exitCode: check.exitCode,
      stdoutExcerpt: check.stdout.slice(-excerptChars),
      stderrExcerpt: check.stderr.slice(-excerptChars),
      durationMs: check.durationMs,
    })),
    ...(smoke.packageManifest
      ? {
          packageManifest: {
            file: relative(input.cwd, smoke.packageManifest.file),
            packages: smoke.packageManifest.packages,
            ...(smoke.packageManifest.comparedWith ? { comparedWith: smoke.packageManifest.comparedWith } : {}),
          },
        }
      : {}),
    file: relative(input.cwd, path.join(input.applied.runDir, `${smoke.image}.smoke.json`)),
  };
}

/** The error and its causes, outermost first, as name and message (stacks stay in the log). */
export function causesOf(error: unknown): { name: string; message: string }[] {
  const causes: { name: string; message: string }[] = [];
  let current = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    causes.push(current instanceof Error ? { name: current.name, message: current.message } : { name: typeof current, message: String(current) });
    current = (current as { cause?: unknown }).cause;
  }
  return causes;
}

/**
 * A fresh emulator gild starts and stops itself, the image alone (a base built
 * by gild gets a stand-in), rebuilt whatever is published: the build, render
 * and publish path the failure took, without AWS. Smoke checks always pass in
 * the emulator, so a failed check is reproduced by its command in the log.
 */
export function reproduceCommand(image: string): string {
  return `npx gild run ${image} --local --force`;
}

/** `gild` and the arguments as typed, each quoted for a POSIX shell where it needs to be, so it can be pasted back. */
export function commandLine(argv: readonly string[]): string {
  return ['gild', ...argv].map((argument) => (/^[\w@%+=:,./^-]+$/.test(argument) ? argument : `'${argument.replaceAll("'", `'\\''`)}'`)).join(' ');
}

function relative(cwd: string, file: string): string {
  return path.isAbsolute(file) ? path.relative(cwd, file) : file;
}
