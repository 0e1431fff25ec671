/**
 * A stage is one small step of an image's lifecycle, run over the context and
 * the image's own run state. The lifecycle is the ordered table in
 * `lifecycle.ts`; the runner reads it top to bottom.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Logger } from '../logger.ts';

export type SmokeResult =
  | { readonly result: 'passed'; readonly checks: readonly CheckResult[] }
  | { readonly result: 'failed'; readonly reason: string; readonly checks: readonly CheckResult[] }
  | { readonly result: 'timed-out'; readonly reason: string; readonly checks: readonly CheckResult[] }
  | { readonly result: 'skipped'; readonly reason: string };

/** A check outcome that fails the image. */
export const isFailingOutcome = (outcome: CheckResult['outcome']): outcome is 'failed' | 'timed-out' => outcome === 'failed' || outcome === 'timed-out';

export interface CheckResult {
  readonly name: string;
  readonly instanceType: string;
  readonly instanceId: string;
  /**
   * Neither fails the image, and neither is shown as passed: `kept-by-choice` and `not-verified` come only from gild's
   * built-in new-machine checks (src/smoke/new-machine-checks.ts); `not-run`: the emulator had no container twin to run
   * the check in; `skipped`: it needs a VM and ran in a twin.
   */
  readonly outcome: 'passed' | 'failed' | 'timed-out' | 'kept-by-choice' | 'not-verified' | 'not-run' | 'skipped';
  readonly reason: string | undefined;
  readonly status: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** What the smoke test works on: one image's freshly built (or resumed) AMIs, and the run's means. */
export interface ImageRun {
  readonly image: ResolvedImage;
  readonly version: string;
  /** The newest published version before this one: the package diff compares with it. */
  readonly currentVersion: string | undefined;
  readonly amis: Readonly<Record<string, string>>;
  readonly snapshots: Readonly<Record<string, readonly string[]>>;
  readonly logger: Logger;
  readonly logFile: string;
  /** Where the smoke report and package manifest go. */
  readonly logDir: string;
  /** What the build recorded of its instance's identity (machine-identity.ts), for the new-machine checks; may be absent. */
  readonly buildIdentityFile?: string;
  /** Aborted on SIGINT/SIGTERM: stages stop waiting and clean up. */
  readonly signal: AbortSignal;
  /** Registers cleanup that must run even if the process is interrupted. */
  readonly defer: (description: string, cleanup: () => Promise<void>) => () => void;
  /** Summary lines for the end-of-run report. */
  readonly summary: string[];
  /**
   * When given, the smoke test hands it the confirmation that its instances are terminated (and the report written
   * after it) and returns without waiting for them, so that publish goes on meanwhile (see StepRun.settleLater).
   */
  readonly settleLater?: (description: string, work: Promise<unknown>) => void;
}
