/**
 * The context carries the world. It is built once, at the entry point, and
 * nothing below it reads `process.env`, `process.cwd()` or constructs an SDK
 * client.
 */
import { hostname } from 'node:os';
import { isPidAlive, readBootId, readPidNamespace } from './apply/check-process.ts';
import { compactTimestamp } from './compact-timestamp.ts';
import type { Logger } from './logger.ts';
import type { PipelineSettings } from './settings/schema.ts';
import { createAwsClients, type AwsClients } from './adapters/aws-clients.ts';
import { awsProfile } from './target/aws-profile.ts';
import type { TargetProfile } from './target/target-profile.ts';

export interface RunOptions {
  readonly force: boolean;
  /** Base AMIs to use instead of resolving an image's base, by image name (`--base-ami image=ami-…`). */
  readonly baseOverrides: Readonly<Record<string, string>>;
}

export interface Context {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly clients: AwsClients;
  readonly settings: PipelineSettings;
  readonly options: RunOptions;
  /** What the account offers and what to do where it lacks something (src/target/): AWS unless chosen otherwise. */
  readonly target: TargetProfile;
  /** Unique per `gild run`; tags every resource the run creates. */
  readonly runId: string;
  /** Where build folders and logs go: `<cwd>/.gild`. */
  readonly workDir: string;
  /** The clock, so that plans and tests agree on "now". */
  readonly now: () => Date;
  /** Who this process is, for lock leases: a lease whose owner is this host and a dead pid is taken over. */
  readonly processInfo: ProcessInfo;
}

export interface ProcessInfo {
  readonly host: string;
  readonly pid: number;
  /** The kernel's boot ID (Linux), or undefined: a pid is compared only within one boot of one host. */
  readonly bootId?: string | undefined;
  /** The PID namespace (Linux), or undefined: sibling containers share a host name and boot, not their pids. */
  readonly pidNamespace?: string | undefined;
  isPidAlive(pid: number): boolean;
}

/** The real process, made once at the entry point. */
export function currentProcessInfo(): ProcessInfo {
  return {
    host: hostname(),
    pid: process.pid,
    bootId: readBootId(),
    pidNamespace: readPidNamespace(),
    isPidAlive,
  };
}

export interface CreateContextInput {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  settings: PipelineSettings;
  options?: Partial<RunOptions>;
  target?: TargetProfile;
  runId?: string;
  clients?: AwsClients;
  now?: () => Date;
  processInfo?: ProcessInfo;
}

export function newRunId(now: Date): string {
  return `${compactTimestamp(now)}-${Math.random().toString(36).slice(2, 8)}`;
}

export function createContext(input: CreateContextInput): Context {
  const now = input.now ?? (() => new Date());
  return {
    cwd: input.cwd,
    env: input.env,
    logger: input.logger,
    clients: input.clients ?? createAwsClients(input.env),
    settings: input.settings,
    options: { force: false, baseOverrides: {}, ...input.options },
    target: input.target ?? awsProfile,
    runId: input.runId ?? newRunId(now()),
    workDir: `${input.cwd}/.gild`,
    now,
    processInfo: input.processInfo ?? currentProcessInfo(),
  };
}
