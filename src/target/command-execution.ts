/**
 * How smoke checks run where gild runs, asked by the smoke stage (never sniffed): on AWS every check runs on the
 * instance through Run Command. On the emulator, Run Command is the SSM stand-in (src/local/ssm-stand-in.ts), which
 * runs a check in a fresh container of the AMI's container twin, or answers that it did not run: a check that needs a
 * VM is skipped there, and a check the stand-in did not run is "not run". Neither is ever reported as passed.
 */
import type { Context } from '../context.ts';
import type { SmokeCheck } from '../definition/schema.ts';

export interface CommandExecution {
  /** Why the check is not sent at all here, or undefined. */
  skipReason(check: Pick<SmokeCheck, 'needs'>): string | undefined;
  /** Why a finished invocation never ran, or undefined when it ran. */
  notRunReason(invocation: { readonly status: string; readonly statusDetails: string; readonly stderr: string }): string | undefined;
}

export const onInstances: CommandExecution = { skipReason: () => undefined, notRunReason: () => undefined };

/** The stand-in marks an invocation it did not run with this StatusDetails (Status Failed, so nothing else takes it for a pass). */
export const standInNotRunDetails = 'NotRun';

export const inContainerTwins: CommandExecution = {
  skipReason: (check) => (check.needs === 'vm' ? 'skipped: needs a VM (here checks run in a container twin: no systemd as PID 1, kernel modules, cloud-init or IMDS)' : undefined),
  notRunReason: (invocation) =>
    invocation.status === 'Failed' && invocation.statusDetails === standInNotRunDetails ? invocation.stderr.replace(/^not run: /, '') || 'the emulator did not run it' : undefined,
};

export function commandExecutionOf(context: Pick<Context, 'target'>): CommandExecution {
  return context.target.commandExecution;
}

/** Where checks run in `gild test`: containers of the twin, nothing else. */
export const twinCommandExecution: CommandExecution = inContainerTwins;
