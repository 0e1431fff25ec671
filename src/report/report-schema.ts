/**
 * The run report's schema (`.gild/runs/<run-id>/report.json`), versioned:
 * a change that removes or renames a field bumps `schema`; adding optional
 * fields does not. CI jobs and dashboards read it, so it is checked in the
 * tests against what a real run writes.
 */
import { z } from 'zod';

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
  outcome: z.enum(['passed', 'failed', 'timed-out']),
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
  /** One command that reproduces the failure locally, against a moto emulator gild starts. */
  reproduce: z.string(),
});

const imageSchema = z.object({
  image: z.string(),
  /** What the plan decided (build, resume, finish, unchanged, locked, error) and why. */
  action: z.string(),
  reason: z.string(),
  /** What happened. */
  result: z.enum(['published', 'unchanged', 'yielded', 'skipped', 'interrupted', 'failed']),
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
  /** The lines the run printed for this image (package diff, retirement, …). */
  summary: z.array(z.string()),
  failure: failureSchema.optional(),
});

export const runReportSchema = z.object({
  schema: z.literal(reportSchemaVersion),
  runId: z.string(),
  command: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  ssmPrefix: z.string(),
  result: z.enum(['succeeded', 'failed', 'interrupted']),
  counts: z.record(z.string(), z.number().int().nonnegative()),
  images: z.array(imageSchema),
  /** Steps of no image (sweeps of leftovers from earlier runs). */
  runSteps: z.array(stepSchema),
});

export type RunReport = z.infer<typeof runReportSchema>;
export type ImageReport = RunReport['images'][number];
export type StepReport = z.infer<typeof stepSchema>;
export type SmokeEvidence = z.infer<typeof smokeSchema>;
