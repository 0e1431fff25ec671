/**
 * The report's schema (`.gild/runs/<run-id>/report.json`), versioned: a change
 * that removes or renames a field bumps `schema`; adding optional fields or a
 * new value of an enum does not. Every command that changes AWS writes one
 * (`run`, `retire`, `promote`, `rollback`, `release`, `revoke`), and
 * `gild report merge` folds a fleet's per-image reports into one of the same
 * shape. CI jobs and dashboards read it, so it is checked in the tests against
 * what real commands write.
 */
import { z } from 'zod';
import { runIdSchema } from '../run-id-schema.ts';

export const reportSchemaVersion = 1;

const stepSchema = z.object({
  id: z.string(),
  kind: z.string(),
  region: z.string().optional(),
  status: z.enum(['done', 'failed', 'skipped', 'moved', 'not-run']),
  /** Why the step was planned. */
  reason: z.string(),
  /** Why it was skipped, moved or failed. */
  outcome: z.string().optional(),
  /** A failure's details and causes, outermost first. */
  details: z.array(z.string()).optional(),
  durationMs: z.number().int().nonnegative().optional(),
});

const checkSchema = z.object({
  name: z.string(),
  instanceType: z.string(),
  instanceId: z.string(),
  outcome: z.enum(['passed', 'failed', 'timed-out', 'kept-by-choice', 'not-verified', 'not-run', 'skipped']),
  reason: z.string().optional(),
  status: z.string(),
  exitCode: z.number(),
  /** The end of the check's output (the whole output is in the image's log). */
  stdoutExcerpt: z.string(),
  stderrExcerpt: z.string(),
  durationMs: z.number(),
});

const smokeSchema = z.object({
  result: z.string(),
  reason: z.string().optional(),
  region: z.string(),
  amiId: z.string(),
  checks: z.array(checkSchema),
  packageManifest: z.object({ file: z.string(), packages: z.number(), comparedWith: z.string().optional() }).optional(),
  file: z.string(),
});

const failureSchema = z.object({
  stage: z.string(),
  message: z.string(),
  /** The error's details and every cause's message, outermost first. */
  details: z.array(z.string()),
  causes: z.array(z.object({ name: z.string(), message: z.string() })),
  logFile: z.string().optional(),
  logTail: z.array(z.string()),
  /** Only the log's last `readBytes` were read, and they held fewer lines than asked for (or only a long line's end): the rest is in `logFile`. */
  logTailCut: z.object({ readBytes: z.number(), logBytes: z.number() }).optional(),
  /**
   * One command that reproduces the failure: for `run`, locally against a moto emulator gild starts; for a lifecycle
   * command, the same command again (it plans afresh from what AWS holds, so it is safe to repeat).
   */
  reproduce: z.string(),
});

const pointerMoveSchema = z.object({
  /** Relative to the image's path: `latest`, `v1`, `channels/stable`. */
  pointer: z.string(),
  region: z.string(),
  name: z.string(),
  from: z.string().optional(),
  fromVersion: z.string().optional(),
  to: z.string(),
  toVersion: z.string(),
});

const holdSchema = z.object({
  pointer: z.string(),
  region: z.string(),
  parameterName: z.string(),
  change: z.enum(['placed', 'removed']),
  /** The version the pointer is held at, why, when and by whom (from the hold record). */
  version: z.string().optional(),
  reason: z.string().optional(),
  at: z.string().optional(),
  by: z.string().optional(),
});

const revokedSchema = z.object({
  region: z.string(),
  amiId: z.string(),
  version: z.string(),
  reason: z.string(),
  /** `--disable` was asked for. */
  disable: z.boolean(),
});

const notificationSchema = z.object({
  /** `gild.image.published`, … */
  event: z.string(),
  /** The SNS topic ARN, or `EventBridge bus <name> in <region>`. */
  target: z.string(),
  /** `sent`; `failed` (the image's outcome is not changed by it); `skipped` (not needed: nothing failed); `not-run`. */
  status: z.enum(['sent', 'failed', 'skipped', 'moved', 'not-run']),
  version: z.string().optional(),
  /** SNS's MessageId or EventBridge's EventId. */
  messageId: z.string().optional(),
  /** Why it failed or was skipped. */
  outcome: z.string().optional(),
});

const imageSchema = z.object({
  image: z.string(),
  /** What the plan decided (build, resume, finish, unchanged, locked, error) and why. */
  action: z.string(),
  reason: z.string(),
  /** What happened. */
  /** `changed`: a lifecycle command (retire, promote, rollback, release, revoke) did everything it planned for the image. */
  result: z.enum(['published', 'changed', 'unchanged', 'yielded', 'skipped', 'interrupted', 'failed']),
  resultReason: z.string().optional(),
  /** The last step kind that finished (e.g. `publish`), or none. */
  stageReached: z.string().optional(),
  previousVersion: z.string().optional(),
  version: z.string().optional(),
  amis: z.record(z.string(), z.string()),
  durationMs: z.number().int().nonnegative(),
  steps: z.array(stepSchema),
  smoke: smokeSchema.optional(),
  parametersWritten: z.array(z.object({ region: z.string(), name: z.string(), value: z.string().optional(), previous: z.string().optional() })),
  retired: z.array(z.object({ region: z.string(), amiId: z.string(), version: z.string(), phase: z.string(), reason: z.string() })),
  kept: z.array(z.object({ region: z.string(), amiId: z.string(), version: z.string().optional(), reason: z.string() })),
  /** Pointers (`latest`, `v<major>`, `channels/<name>`) a lifecycle command moved, per region, from → to. */
  pointersMoved: z.array(pointerMoveSchema).optional(),
  /** Holds a rollback placed or a release removed. */
  holds: z.array(holdSchema).optional(),
  /** AMIs `gild revoke` marked revoked (and deprecated; disabled when asked). */
  revoked: z.array(revokedSchema).optional(),
  /** Whom the command told what (settings `notify`); a failure here is also a warning, never the image's failure. */
  notifications: z.array(notificationSchema).optional(),
  /** The lines the run printed for this image (package diff, retirement, …). */
  summary: z.array(z.string()),
  failure: failureSchema.optional(),
});

const jobSchema = z.object({
  /** The report file, as given to `gild report merge`. */
  file: z.string(),
  command: z.string(),
  result: z.enum(['succeeded', 'failed', 'interrupted']),
  images: z.array(z.string()),
  startedAt: z.string(),
  finishedAt: z.string(),
});

export const runReportSchema = z.object({
  schema: z.literal(reportSchemaVersion),
  runId: runIdSchema,
  /** The command line as typed, e.g. `gild promote web --to stable`. */
  command: z.string(),
  /** Which command wrote the report; `merge` for a fleet's merged report (absent in reports of gild before it). */
  commandName: z.enum(['run', 'retire', 'promote', 'rollback', 'release', 'revoke', 'restore', 'merge', 'verify', 'unlock']).optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  ssmPrefix: z.string(),
  result: z.enum(['succeeded', 'failed', 'interrupted']),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  images: z.array(imageSchema),
  /** Steps of no image (sweeps of leftovers from earlier runs). */
  runSteps: z.array(stepSchema),
  /** A merged report: the report each job of the fleet uploaded, and what it covered. */
  jobs: z.array(jobSchema).optional(),
  /** A merged report: images the plan gave a job that left no report. */
  missing: z.array(z.object({ image: z.string(), reason: z.string() })).optional(),
  /** What went wrong around the run without failing it (a step summary that could not be written). */
  warnings: z.array(z.string()).optional(),
});

export type RunReport = z.infer<typeof runReportSchema>;
export type ImageReport = RunReport['images'][number];
export type StepReport = z.infer<typeof stepSchema>;
export type SmokeEvidence = z.infer<typeof smokeSchema>;
export type ReportCommandName = NonNullable<RunReport['commandName']>;
