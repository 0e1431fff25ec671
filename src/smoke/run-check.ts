/**
 * Runs one command on one instance through Run Command and waits for it,
 * bounded by gild's own deadline as well as SSM's: an agent that never reports
 * back must not hold the pipeline.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import { setTimeout as sleep } from 'node:timers/promises';
import { cancelCommand, getCommandInvocation, sendCommand, terminalCommandStatuses, type RunDocument } from '../adapters/ssm.ts';
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
  /** Epoch ms of the whole smoke test's deadline. */
  readonly overallDeadline: number;
}

export type CommandOutcome =
  | { readonly kind: 'finished'; readonly status: string; readonly statusDetails: string; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  | { readonly kind: 'timed-out'; readonly reason: string; readonly status: string; readonly stdout: string; readonly stderr: string }
  | { readonly kind: 'not-registered'; readonly reason: string };

export class DeadlineReached extends Error {
  override readonly name = 'DeadlineReached';
}

/** Sleeps, but never past `deadline`: reaching it throws DeadlineReached. */
function sleepBefore(deadline: number, signal: AbortSignal) {
  return async (ms: number) => {
    const left = deadline - Date.now();
    if (left <= 0) throw new DeadlineReached();
    await sleep(Math.min(ms, left), undefined, { signal });
    if (Date.now() >= deadline) throw new DeadlineReached();
  };
}

export async function runCommand(ssm: SSMClient, request: CommandRequest, poll: PollSettings, signal: AbortSignal, logger: Logger): Promise<CommandOutcome> {
  signal.throwIfAborted();
  let sent: Awaited<ReturnType<typeof sendCommand>>;
  try {
    sent = await sendCommand(
      ssm,
      { instanceId: request.instanceId, document: request.document, commands: request.commands, timeoutSeconds: request.timeoutSeconds, comment: request.comment },
      { ...poll.registration, sleep: sleepBefore(request.overallDeadline, signal) },
    );
  } catch (error) {
    if (error instanceof DeadlineReached) return { kind: 'timed-out', reason: `the SSM agent on ${request.instanceId} did not register before the overall smoke timeout`, status: 'NotSent', stdout: '', stderr: '' };
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
  const checkDeadline = Date.now() + request.timeoutSeconds * 1000;
  const deadline = Math.min(checkDeadline, request.overallDeadline);
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
    if (Date.now() >= deadline) {
      const which = deadline === checkDeadline ? `its ${request.timeoutSeconds}s timeout` : 'the overall smoke timeout';
      try {
        await cancelCommand(ssm, sent.commandId, request.instanceId);
      } catch (error) {
        logger.debug(`could not cancel command ${sent.commandId}: ${(error as Error).message}`);
      }
      return { kind: 'timed-out', reason: `did not finish within ${which} (last status ${last.status}); gild stopped waiting and cancelled command ${sent.commandId}`, ...last };
    }
    await sleep(Math.min(poll.pollMs, Math.max(0, deadline - Date.now())), undefined, { signal });
  }
}
