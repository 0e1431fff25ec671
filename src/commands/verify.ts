/**
 * `gild verify`: a drift audit that changes nothing. `--repair` takes the
 * trip every changing command takes: the audit's observation, an assembler
 * (src/plan/plan-repairs.ts: the repairs as plan steps under each image's
 * lock), the same runner, and a report; each step re-checks what it changes
 * right before it (a pointer is moved only while it still names what was
 * observed), and a second audit shows what is left.
 */
import path from 'node:path';
import { applyRun, takeTrip } from '../apply/run-trip.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory } from '../observe/inventory.ts';
import { observeInventory } from '../observe/observe-inventory.ts';
import { observeSharing } from '../observe/observe-sharing.ts';
import { planRepairs } from '../plan/plan-repairs.ts';
import type { RunPlan } from '../plan/run-plan.ts';
import { auditImages, formatAudit, formatRepairPlan, type AuditResult } from '../report/audit-images.ts';
import { commandLine } from '../report/build-run-report.ts';
import { createLifecycle } from '../stages/lifecycle.ts';

export interface VerifyOptions {
  readonly json: boolean;
  readonly repair: boolean;
}

export interface VerifyIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export async function verifyCommand(context: Context, images: readonly ResolvedImage[], options: VerifyOptions, io: VerifyIo, signal: AbortSignal = new AbortController().signal): Promise<number> {
  // With --json, stdout carries only the last audit.
  const say = options.json ? io.stderr : io.stdout;
  const observed = await auditNow(context, images);
  let audit = observed.audit;
  let repaired = true;
  say(formatAudit(audit));
  if (options.repair) {
    const repairs = audit.findings.flatMap((finding) => (finding.repair ? [finding.repair] : []));
    if (repairs.length > 0) {
      say(`\n${formatRepairPlan(repairs)}`);
      const plan = planRepairs({ runId: context.runId, now: context.now(), inventory: observed.inventory, images, findings: audit.findings });
      repaired = (await takeTrip({ heading: `\nPlan ${plan.runId}`, plan, dryRun: false, say, apply: (planned) => applyRepairs(context, planned, images, signal, say) })) === 0;
      audit = (await auditNow(context, images)).audit;
      say(`\nAfter repair: ${formatAudit(audit)}`);
    } else if (audit.findings.length > 0) {
      say('\nNothing here can be repaired by gild verify; each finding names its repair.\n');
    }
  }
  if (options.json) io.stdout(`${JSON.stringify(audit, null, 2)}\n`);
  return audit.findings.length > 0 || !repaired ? 1 : 0;
}

/** The repair plan through the runner, and its report: 1 when an image's repair failed or yielded to another run. */
async function applyRepairs(context: Context, plan: RunPlan, images: readonly ResolvedImage[], signal: AbortSignal, say: (text: string) => void): Promise<number> {
  const startedAt = context.now();
  const { applied, outcomes } = await applyRun(context, plan, images, { stages: createLifecycle(context), signal, onProgress: (image, line) => context.logger.info(`${image ?? 'verify'}: ${line}`) });
  for (const outcome of outcomes) {
    if (outcome.result === 'failed') say(`  ✖ ${outcome.image} failed in ${outcome.stage}: ${outcome.reason}\n${outcome.details.map((detail) => `      - ${detail}\n`).join('')}`);
    else if (outcome.result === 'yielded' || outcome.result === 'skipped' || outcome.result === 'interrupted') say(`  # ${outcome.image} left alone: ${outcome.reason}\n`);
    else say(`  ✔ ${outcome.image}${outcome.summary.map((line) => `\n      ${line}`).join('')}\n`);
  }
  const { writeRunReport } = await import('../report/write-run-report.ts');
  const written = await writeRunReport({
    applied,
    outcomes,
    command: commandLine(['verify', '--repair', ...images.map((image) => image.name)]),
    commandName: 'verify',
    // The repairs are planned afresh from what AWS holds: the same command again is how a failure is retried.
    reproduce: (image) => `npx ${commandLine(['verify', '--repair', image])}`,
    startedAt,
    finishedAt: context.now(),
    cwd: context.cwd,
    env: context.env,
  });
  say(`Report: ${path.relative(context.cwd, written.markdownFile)} (JSON: ${path.relative(context.cwd, written.jsonFile)})\n`);
  return outcomes.every((outcome) => outcome.result === 'unchanged' || outcome.result === 'published') ? 0 : 1;
}

/** One observation (the inventory and the sharing of what it names), then the pure audit. */
async function auditNow(context: Context, images: readonly ResolvedImage[]): Promise<{ audit: AuditResult; inventory: Inventory }> {
  const inventory = await observeInventory(context, images, { baseOverrides: context.options.baseOverrides, retentionRules: false });
  const sharing = await observeSharing(context, inventory, images);
  return { audit: auditImages({ inventory, images, sharing }), inventory };
}

import { createIoLogger, type Io } from './io.ts';
import { withImagesInContext } from './run-steps.ts';
/** `gild verify` from the command line: the project, the context, then verifyCommand. */
export async function verify(options: VerifyOptions & { readonly images: readonly string[] }, io: Io): Promise<number> {
  return withImagesInContext(io, createIoLogger(io), { images: options.images }, (context, images, signal) => verifyCommand(context, images, options, io, signal));
}
