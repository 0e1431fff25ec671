/**
 * A stage is one small step of an image's lifecycle, run over the context and
 * the image's own run state. The lifecycle is the ordered table in
 * `lifecycle.ts`; the runner reads it top to bottom.
 */
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Logger } from '../logger.ts';
import type { ImagePlan } from '../plan/types.ts';

export type SmokeResult =
  | { readonly result: 'passed'; readonly checks: readonly CheckResult[] }
  | { readonly result: 'failed'; readonly reason: string; readonly checks: readonly CheckResult[] }
  | { readonly result: 'timed-out'; readonly reason: string; readonly checks: readonly CheckResult[] }
  | { readonly result: 'skipped'; readonly reason: string };

export interface CheckResult {
  readonly name: string;
  readonly instanceType: string;
  readonly instanceId: string;
  readonly outcome: 'passed' | 'failed' | 'timed-out';
  readonly reason: string | undefined;
  readonly status: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/** What one image's run has produced so far; each stage adds to it. */
export interface ImageRunState {
  /** The base AMI the build used (build region). */
  baseAmiId?: string;
  /** The built AMI per region, from Packer's artifacts. */
  amis?: Record<string, string>;
  /** Snapshot IDs per region of the built AMIs. */
  snapshots?: Record<string, string[]>;
  smoke?: SmokeResult;
  /** The version confirmed under the publish lock. */
  version?: string;
  published?: boolean;
  /** Package manifest collected by the smoke test, `name version` per line. */
  packageManifest?: string;
  /** Summary lines for the end-of-run report. */
  summary: string[];
}

export interface ImageRun {
  readonly image: ResolvedImage;
  readonly plan: Extract<ImagePlan, { action: 'build' }>;
  readonly logger: Logger;
  /** `.gild/logs/<run-id>/<image>.log` */
  readonly logFile: string;
  /** `.gild/logs/<run-id>/` */
  readonly logDir: string;
  /** Aborted on SIGINT/SIGTERM: stages stop waiting and clean up. */
  readonly signal: AbortSignal;
  /** Registers cleanup that must run even if the process is interrupted. */
  readonly defer: (description: string, cleanup: () => Promise<void>) => () => void;
  readonly state: ImageRunState;
}

export type StageOutcome = { readonly status: 'done' } | { readonly status: 'failed'; readonly reason: string };

export interface Stage {
  readonly name: string;
  readonly title: string;
  /** Whether the stage changes anything in AWS: dry runs stop before these. */
  readonly mutates: boolean;
  /** `false` to run, or the reason it is skipped. */
  skip?(context: Context, run: ImageRun): false | string;
  run(context: Context, run: ImageRun): Promise<StageOutcome>;
}
