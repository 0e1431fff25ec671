/**
 * Runs one command on one instance through Run Command and waits for it,
 * bounded by gild's own deadline as well as SSM's: an agent that never reports
 * back must not hold the pipeline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { cancelCommand, getCommandInvocation, sendCommand, terminalCommandStatuses, type RunDocument, type SSMClient } from '../adapters/ssm.ts';
import type { Logger } from '../logger.ts';

export interface PollSettings {
  /** Between GetCommandInvocation calls. */
  readonly pollMs: number;
  /** SendCommand retries while the agent is not registered yet (InvalidInstanceId). */
  readonly registration: { readonly attempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number };
}

export interface CommandRequest {
  readonly instanceId: string;
  readonly document: RunDocument;
  readonly commands: readonly string[];
  readonly timeoutSeconds: number;
  readonly comment: string;
}

/** What stops the wait: `interrupt` (SIGINT/SIGTERM, a lost lease) throws; `deadline` (the whole smoke test's) times the command out. */
export interface CommandSignals {
  readonly interrupt: AbortSignal;
  readonly deadline: AbortSignal;
}

export type CommandOutcome =
  | { readonly kind: 'finished'; readonly status: string; readonly statusDetails: string; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  | { readonly kind: 'timed-out'; readonly reason: string; readonly status: string; readonly stdout: string; readonly stderr: string }
  | { readonly kind: 'not-registered'; readonly reason: string };

export class DeadlineReached extends Error {
  override readonly name = 'DeadlineReached';
}

/**
 * Sleeps `ms`, or until `stop` aborts: an interrupt throws its reason, and `stop` alone (a deadline) returns early, so
 * the caller reads the command's status once more and reports what it last saw.
 */
async function sleepUnless(ms: number, interrupt: AbortSignal, stop: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal: AbortSignal.any([interrupt, stop]) });
  } catch (error) {
    interrupt.throwIfAborted();
    if (!stop.aborted) throw error;
  }
}

export async function runCommand(ssm: SSMClient, request: CommandRequest, poll: PollSettings, signals: CommandSignals, logger: Logger): Promise<CommandOutcome> {
  const { interrupt, deadline: overall } = signals;
  interrupt.throwIfAborted();
  let sent: Awaited<ReturnType<typeof sendCommand>>;
  try {
    sent = await sendCommand(
      ssm,
      { instanceId: request.instanceId, document: request.document, commands: request.commands, timeoutSeconds: request.timeoutSeconds, comment: request.comment },
      {
        ...poll.registration,
        // Waiting for the agent to register never outlasts the smoke test: the deadline ends it as DeadlineReached.
        sleep: async (ms: number) => {
          if (overall.aborted) throw new DeadlineReached();
          await sleepUnless(ms, interrupt, overall);
          if (overall.aborted) throw new DeadlineReached();
        },
      },
    );
  } catch (error) {
    if (error instanceof DeadlineReached)
      return { kind: 'timed-out', reason: `the SSM agent on ${request.instanceId} did not register before the overall smoke timeout`, status: 'NotSent', stdout: '', stderr: '' };
    throw error;
  }
  if ('notRegistered' in sent) {
    return {
      kind: 'not-registered',
      reason: `the SSM agent on ${request.instanceId} did not register after ${poll.registration.attempts} SendCommand attempts (InvalidInstanceId). Check that the smoke instance profile allows SSM (AmazonSSMManagedInstanceCore) and that the subnet reaches the SSM endpoints.`,
    };
  }

  // NOTE: the check's own timeout starts once the command is accepted, so that
  // waiting for the agent to register is not charged to the first check.
  const checkTimeout = AbortSignal.timeout(request.timeoutSeconds * 1000);
  const stop = AbortSignal.any([overall, checkTimeout]);
  let last = { status: 'Pending', stdout: '', stderr: '' };
  // NOTE: not the SDK's waitUntilCommandExecuted: it retries every error but
  // InvocationDoesNotExist as "keep waiting" (a denied GetCommandInvocation would
  // wait out the deadline), it reports Failed/TimedOut/Cancelled only as a
  // thrown JSON blob, and on gild's own deadline it drops the last status and
  // output that a timed-out check must report, so each would need a read back.
  for (;;) {
    const invocation = await getCommandInvocation(ssm, sent.commandId, request.instanceId);
    if (invocation) {
      last = { status: invocation.status, stdout: invocation.stdout, stderr: invocation.stderr };
      if (terminalCommandStatuses.has(invocation.status)) return { kind: 'finished', ...invocation };
    }
    if (stop.aborted) {
      const which = overall.aborted ? 'the overall smoke timeout' : `its ${request.timeoutSeconds}s timeout`;
      try {
        await cancelCommand(ssm, sent.commandId, request.instanceId);
      } catch (error) {
        logger.debug(`could not cancel command ${sent.commandId}: ${(error as Error).message}`);
      }
      return { kind: 'timed-out', reason: `did not finish within ${which} (last status ${last.status}); gild stopped waiting and cancelled command ${sent.commandId}`, ...last };
    }
    await sleepUnless(poll.pollMs, interrupt, stop);
  }
}
