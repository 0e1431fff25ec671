/**
 * The Windows new-machine check that GetPasswordData returns a new password: the instance was launched with the
 * smoke test's temporary key pair (src/smoke/launch-instances.ts); once it runs, gild waits (within the smoke test's
 * deadline) for EC2Launch's encrypted password and decrypts it with the private key it holds in memory. The password
 * itself is never logged, stored or reported: only whether there is one.
 */
import { readPasswordData, waitForPasswordData, type TemporaryKeyPair } from '../adapters/ec2.ts';
import type { CheckResult } from '../stages/stage.ts';
import { decryptWindowsPassword } from './decrypt-windows-password.ts';
import { judgeWindowsPassword, type WindowsPasswordFinding } from './new-machine-checks.ts';
import type { CheckTarget } from './run-smoke-checks.ts';

/** `stop` ends the wait early when the caller no longer needs the verdict; its result is then not reported. */
export async function checkWindowsPassword(target: CheckTarget, keyPair: TemporaryKeyPair | undefined, stop?: AbortSignal): Promise<CheckResult> {
  const { context, run, instance, settings } = target;
  const { image } = run;
  const started = Date.now();
  const result = (outcome: CheckResult['outcome'], reason: string | undefined, status: string): CheckResult => ({
    name: judgeWindowsPassword(image, { kind: 'decrypted' }).name,
    instanceType: instance.instanceType,
    instanceId: instance.instanceId,
    outcome,
    reason,
    status,
    exitCode: -1,
    stdout: '',
    stderr: '',
    durationMs: Date.now() - started,
  });
  const judged = (finding: WindowsPasswordFinding, status: string) => {
    const check = judgeWindowsPassword(image, finding);
    return result(check.verdict, check.reason, status);
  };
  // Nothing to ask when nothing is expected: without Sysprep no new password is set.
  if (image.generalize.kind === 'off') return judged({ kind: 'decrypted' }, 'NotRun');
  if (!keyPair) return result('failed', 'the instance was launched without the temporary key pair, so its password cannot be read', 'NotRun');
  if (target.deadline.aborted) return result('timed-out', `not run: the overall smoke timeout (${image.smoke.timeoutSeconds}s) was reached`, 'NotRun');

  const ec2 = context.clients.ec2(image.buildRegion);
  const { windowsPassword } = context.target;
  if (!windowsPassword.encrypted) {
    // One call, for the record of what the target answers: waiting for more would prove nothing either.
    const answered = (await readPasswordData(ec2, instance.instanceId)) !== '';
    return judged({ kind: 'unprovable', why: windowsPassword.why, answered }, answered ? 'Answered' : 'Empty');
  }
  const wait = await waitForPasswordData(ec2, instance.instanceId, {
    timeoutMs: image.smoke.timeoutSeconds * 1000,
    pollMs: settings.instancePollMs,
    // NOTE: the smoke test's deadline ends the wait as the interrupt does; which one it was is read below.
    signal: AbortSignal.any([run.signal, target.deadline, ...(stop ? [stop] : [])]),
  });
  // An interrupt is the instance's problem, not this check's verdict (src/smoke/test-instance.ts).
  if (wait.kind === 'interrupted' && run.signal.aborted) throw new Error('interrupted while waiting for the Windows password');
  if (wait.kind !== 'available') {
    const check = judgeWindowsPassword(image, { kind: 'none', waitedSeconds: Math.round((Date.now() - started) / 1000) });
    return result('timed-out', `${check.reason}; the wait ended at the overall smoke timeout (${image.smoke.timeoutSeconds}s)`, 'Empty');
  }
  const decrypted = decryptWindowsPassword(wait.passwordData, keyPair.privateKeyPem);
  return judged(decrypted.ok ? { kind: 'decrypted' } : { kind: 'undecryptable', reason: decrypted.reason }, 'Answered');
}
