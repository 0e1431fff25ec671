/**
 * A fleet's one report: every CI job of `pipeline/fleet.yml` applies its image's
 * slice of one plan and uploads its own report.json; this folds them into one
 * report of the same schema (one run: the plan's run ID, every job's images,
 * the worst job's result) and names the images the plan gave a job that left
 * no report. Pure: the command reads and checks the files.
 */
import { planWaves } from '../plan/plan-waves.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import { reportSchemaVersion, type ImageReport, type RunReport } from './report-schema.ts';

export interface ReportFile {
  /** As given on the command line: every refusal and the `jobs` list name it. */
  readonly file: string;
  readonly report: RunReport;
}

export interface MergeInput {
  readonly reports: readonly ReportFile[];
  /** The plan the jobs applied: says which images should have a report, and what the others' plan was. */
  readonly plan: RunPlan | undefined;
  /** The merge's own command line. */
  readonly command: string;
  /** When the merge ran: start and end of a merge of no report at all. */
  readonly now: Date;
}

export type MergeResult = { readonly merged: RunReport } | { readonly refused: readonly string[] };

export const noReportReason = 'no report: job did not finish';

const worstFirst: readonly RunReport['result'][] = ['failed', 'interrupted', 'succeeded'];

export function mergeRunReports(input: MergeInput): MergeResult {
  const refused = refusals(input);
  if (refused.length > 0) return { refused };
  const { reports, plan } = input;
  const [first] = reports;
  // NOTE: a job run twice (a re-run in GitHub Actions) reports its image twice: the later report is what happened last.
  const latest = new Map<string, ImageReport>();
  const finishedAtOf = new Map<ImageReport, string>();
  for (const { report } of [...reports].sort((a, b) => a.report.finishedAt.localeCompare(b.report.finishedAt))) {
    for (const image of report.images) {
      latest.set(image.image, image);
      finishedAtOf.set(image, report.finishedAt);
    }
  }
  const jobImages = new Set(plan ? planWaves(plan).flat() : []);
  const missing = [...jobImages]
    .filter((image) => !latest.has(image))
    .sort()
    .map((image) => ({ image, reason: noReportReason }));
  // Images the plan gave no job (unchanged, locked, refused) are part of the run too: the plan says what happened to them.
  const withoutJob = (plan?.images ?? []).filter((decision) => !jobImages.has(decision.image) && !latest.has(decision.image)).map(planOnlyImage);
  const images = [...latest.values(), ...withoutJob].sort((a, b) => a.image.localeCompare(b.image));
  const counts: Record<string, number> = {};
  for (const image of images) counts[image.result] = (counts[image.result] ?? 0) + 1;
  if (missing.length > 0) counts.missing = missing.length;
  const results = [...reports.map(({ report }) => report.result), ...(missing.length > 0 || images.some((image) => image.result === 'failed') ? (['failed'] as const) : [])];
  const times = reports.flatMap(({ report }) => [report.startedAt, report.finishedAt]).sort();
  return {
    merged: {
      schema: reportSchemaVersion,
      runId: plan?.runId ?? first!.report.runId,
      command: input.command,
      commandName: 'merge',
      startedAt: times[0] ?? plan?.createdAt ?? input.now.toISOString(),
      finishedAt: times.at(-1) ?? input.now.toISOString(),
      ssmPrefix: plan?.ssmPrefix ?? first!.report.ssmPrefix,
      result: worstFirst.find((result) => results.includes(result)) ?? 'succeeded',
      counts,
      images,
      runSteps: reports.flatMap(({ report }) => report.runSteps),
      jobs: reports.map(({ file, report }) => ({
        file,
        command: report.command,
        result: report.result,
        images: report.images.map((image) => image.image),
        startedAt: report.startedAt,
        finishedAt: report.finishedAt,
      })),
      missing,
    },
  };
}

/** Reports of another plan or another schema are never mixed in: each is named with what differs. */
function refusals({ reports, plan }: MergeInput): string[] {
  const problems: string[] = [];
  if (reports.length === 0 && !plan) problems.push('no reports to merge and no plan to say which were expected: pass the report.json files, and --plan plan.json');
  const reference = plan ? { runId: plan.runId, what: 'the plan' } : reports[0] ? { runId: reports[0].report.runId, what: reports[0].file } : undefined;
  for (const { file, report } of reports) {
    if (report.schema !== reportSchemaVersion) {
      problems.push(`${file}: report schema ${String(report.schema)}, but this gild merges schema ${reportSchemaVersion}; merge with the gild version that wrote it`);
      continue;
    }
    if (reference && report.runId !== reference.runId) {
      problems.push(`${file}: run ${report.runId} is not run ${reference.runId} of ${reference.what}; merge only the reports of one plan's jobs`);
    }
    if (plan && report.ssmPrefix !== plan.ssmPrefix) problems.push(`${file}: SSM prefix ${report.ssmPrefix}, but the plan's is ${plan.ssmPrefix}`);
    // A job reports only images the plan had: anything else was not reviewed, and is not folded into the run's report.
    const planned = new Set((plan?.images ?? []).map((decision) => decision.image));
    if (plan)
      for (const image of report.images) if (!planned.has(image.image)) problems.push(`${file}: image ${JSON.stringify(image.image)} is not in the plan; merge only the reports of the plan's jobs`);
  }
  return problems;
}

/** An image the plan gave no job: what the plan decided is what happened. */
function planOnlyImage(decision: RunPlan['images'][number]): ImageReport {
  const none = { amis: {}, durationMs: 0, steps: [], parametersWritten: [], retired: [], kept: [], summary: [] };
  const version = 'currentVersion' in decision && decision.currentVersion ? { previousVersion: decision.currentVersion, version: decision.currentVersion } : {};
  if (decision.action === 'error') {
    return {
      ...none,
      image: decision.image,
      action: decision.action,
      reason: decision.reason,
      result: 'failed',
      failure: { stage: 'plan', message: decision.reason, details: [], causes: [], logTail: [], reproduce: `npx gild plan ${decision.image}` },
    };
  }
  const result = decision.action === 'locked' ? 'yielded' : 'unchanged';
  return { ...none, image: decision.image, action: decision.action, reason: decision.reason, result, resultReason: decision.reason, ...version };
}
