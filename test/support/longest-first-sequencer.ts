/**
 * The order test files start in: longest first, so that the two workers end together instead of one running a
 * two-minute file alone at the end (longest-processing-time-first scheduling). How long a file takes is vitest's own
 * cache of the last run on this machine when it has the file, otherwise the durations measured on a fresh clone
 * below (a fresh clone, as CI has, has no cache: vitest alone would start the files in the order it found them, and
 * `pipeline-e2e` and `twins-e2e`, two of the longest, came near the end). A file in neither starts first, as vitest
 * starts files it has never timed: a new file costs at most its own length at the start, never a tail.
 *
 * The unit project's files come last and together: its files share their worker's module graph (`isolate: false`, as
 * the cli project's do), vitest hands such a worker the next file only when the next file in the queue is of the same
 * project, and they are short, so they fill the end.
 *
 * The order changes no test: every file still runs in a worker of its own project, and no file depends on another
 * having run.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds per file (`<project>:<path>`), from one `npm test` at low load after session 9's suite changes (every cli
 * file, unit files of 2 s and more). Only the order depends on them; refresh them when files grow or shrink a
 * lot (`node_modules/.vite/vitest/<hash>/results.json` holds the last run's).
 */
const measuredSeconds: Readonly<Record<string, number>> = {
  'cli:test/integration/twins-e2e.test.ts': 126,
  'cli:test/integration/lifecycle-commands.test.ts': 117,
  'cli:test/integration/iam-simulation.test.ts': 98,
  'cli:test/integration/region-copies.test.ts': 73,
  'cli:test/integration/distribution-accounts.test.ts': 59,
  'cli:test/integration/iam-enforcement.test.ts': 48,
  'cli:test/integration/readme-tour.test.ts': 46,
  'cli:test/integration/pipeline-e2e.test.ts': 44,
  'cli:test/integration/smoke-regions.test.ts': 43,
  'cli:test/integration/iam-simulation-settings.test.ts': 32,
  'cli:test/integration/ssm-stand-in.test.ts': 30,
  'cli:test/integration/lifecycle-trust.test.ts': 25,
  'cli:test/integration/crash-convergence.test.ts': 23,
  'cli:test/integration/aws-clock.test.ts': 22,
  'cli:test/hostile/hostile-cli.test.ts': 21,
  'cli:test/integration/fleet-jobs.test.ts': 20,
  'cli:test/integration/run-report.test.ts': 15,
  'cli:test/integration/smoke-test.test.ts': 14,
  'cli:test/integration/packer-signals.test.ts': 12,
  'cli:test/integration/share.test.ts': 11,
  'unit:test/unit/take-over-lease.test.ts': 11,
  'cli:test/integration/doctor.test.ts': 10,
  'cli:test/integration/render-hostile-packer.test.ts': 10,
  'unit:test/unit/workflows.test.ts': 10,
  'cli:test/integration/compiled-engine.test.ts': 9,
  'cli:test/integration/notify.test.ts': 9,
  'cli:test/integration/render-packer.test.ts': 9,
  'cli:test/integration/saved-plan-tampering.test.ts': 9,
  'cli:test/integration/status.test.ts': 9,
  'cli:test/integration/verify.test.ts': 9,
  'cli:test/integration/fingerprint-offline.test.ts': 7,
  'cli:test/integration/plan-matrix.test.ts': 7,
  'cli:test/integration/wire-check.test.ts': 7,
  'cli:test/integration/pipeline-failures.test.ts': 6,
  'cli:test/integration/modern-packer-render.test.ts': 5,
  'cli:test/integration/retirement-sight.test.ts': 5,
  'cli:test/integration/unlock-command.test.ts': 5,
  'cli:test/integration/idempotent-ssm-writes.test.ts': 4,
  'cli:test/integration/run-wide-failures.test.ts': 4,
  'cli:test/integration/cleanup-checks.test.ts': 3,
  'cli:test/integration/report-step-summary.test.ts': 3,
  'unit:own-process:test/unit/definition-prefetch-blocking.test.ts': 3,
  'unit:own-process:test/unit/definition-prefetch.test.ts': 3,
  'cli:test/integration/history-evidence.test.ts': 2,
  'cli:test/integration/render-generalize.test.ts': 2,
  'cli:test/integration/resolve-command.test.ts': 2,
  'cli:test/integration/step-labels.test.ts': 2,
  'unit:test/unit/definition-transform-cache.test.ts': 2,
  'unit:test/unit/smoke-new-machine.test.ts': 2,
  'cli:test/integration/counting-proxy.test.ts': 1,
  'cli:test/integration/generalize-script.test.ts': 1,
  'cli:test/integration/observe-references.test.ts': 1,
  'cli:test/integration/smoke-sweep.test.ts': 1,
  'cli:test/integration/windows-smoke.test.ts': 1,
  'cli:test/integration/observe-fleets.test.ts': 1,
};

/** A file measured at under 2 s, or a unit file: short enough that only its place after the long ones matters. */
const shortSeconds = 1;

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const secondsOf = (file: TestSpecification): number => {
      const relative = file.moduleId.startsWith(`${root}/`) ? file.moduleId.slice(root.length + 1) : file.moduleId;
      const key = `${file.project.name}:${relative}`;
      const cached = this.ctx.cache.getFileTestResults(key);
      if (cached !== undefined && !cached.failed) return cached.duration / 1000;
      const measured = measuredSeconds[key];
      if (measured !== undefined) return measured;
      // Never timed here nor listed: a new cli file may be long (start it first); a unit file is short.
      return file.project.name === 'cli' ? Number.POSITIVE_INFINITY : shortSeconds;
    };
    const seconds = new Map(files.map((file) => [file, secondsOf(file)]));
    const last = (file: TestSpecification) => (file.project.name === 'unit' ? 1 : 0);
    return [...files].sort((a, b) => last(a) - last(b) || seconds.get(b)! - seconds.get(a)!);
  }
}
