/**
 * The smoke test's built-in checks, on by default: an instance launched from the AMI is a new machine, not a copy of
 * the build instance. Pure: the build's recorded identity and the instance's, in; one verdict per check, out.
 *
 * A verdict is `passed` or `failed` like any check, `kept-by-choice` where the definition keeps that item (or turned
 * generalization off) with a reason, so the report never shows it as passed, and `not-verified` when gild has no
 * record of the build instance to compare with (a resumed AMI, or a build whose provisioners did not run), which is
 * said and never counted as passed either.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { LinuxGeneralizeItem } from '../definition/schema.ts';
import type { MachineIdentity } from '../render/machine-identity.ts';

export type NewMachineVerdict = 'passed' | 'failed' | 'kept-by-choice' | 'not-verified';

export interface NewMachineCheck {
  readonly name: string;
  readonly verdict: NewMachineVerdict;
  readonly reason: string | undefined;
}

interface CheckSpec {
  readonly name: string;
  /** The generalize item whose keeping makes this check kept-by-choice. */
  readonly item: LinuxGeneralizeItem | 'sysprep';
  readonly judge: (build: MachineIdentity, instance: MachineIdentity) => { readonly failed: string } | { readonly passed: string | undefined };
}

const shortList = (values: readonly string[]) => (values.length <= 3 ? values.join(', ') : `${values.slice(0, 3).join(', ')} and ${values.length - 3} more`);

const linuxChecks: readonly CheckSpec[] = [
  {
    name: "new machine: SSH host keys differ from the build instance's",
    item: 'ssh-host-keys',
    judge: (build, instance) => {
      const reused = instance.hostKeys.filter((key) => build.hostKeys.includes(key));
      if (reused.length > 0) return { failed: `the instance has the build instance's host key${reused.length === 1 ? '' : 's'} ${shortList(reused)}` };
      if (instance.hostKeys.length === 0 && build.hostKeys.length > 0) return { failed: 'the instance has no SSH host keys: nothing made new ones at boot, so sshd cannot start' };
      return { passed: build.hostKeys.length === 0 ? 'the build instance had no SSH host keys' : undefined };
    },
  },
  {
    name: 'new machine: no key from the build in any authorized_keys',
    item: 'authorized-keys',
    judge: (build, instance) => {
      const buildKeys = new Set(build.authorizedKeys.map((key) => key.fingerprint));
      const left = instance.authorizedKeys.filter((key) => buildKeys.has(key.fingerprint));
      if (left.length > 0) return { failed: `the build's key ${shortList(left.map((key) => `${key.fingerprint} in ${key.file}`))} is still authorized` };
      return { passed: undefined };
    },
  },
  {
    name: "new machine: machine-id differs from the build instance's",
    item: 'machine-id',
    judge: (build, instance) => {
      if (build.machineId && instance.machineId === build.machineId) return { failed: `the instance has the build instance's machine-id ${build.machineId}` };
      return { passed: build.machineId ? undefined : 'the build instance had no machine-id' };
    },
  },
];

const windowsChecks: readonly CheckSpec[] = [
  {
    name: "new machine: computer name differs from the build instance's",
    item: 'sysprep',
    judge: (build, instance) => {
      if (!instance.computerName) return { failed: 'the instance reported no computer name' };
      if (instance.computerName === build.computerName) return { failed: `the instance kept the build instance's computer name ${instance.computerName}: Sysprep did not run` };
      return { passed: undefined };
    },
  },
];

export const windowsPasswordCheckName = 'new machine: GetPasswordData returns a new Administrator password';

/**
 * What the smoke test learned of a Windows instance's password (src/smoke/check-windows-password.ts): it decrypted
 * with the key pair the instance was launched with, it did not, none came before the deadline, or the target's
 * answer proves nothing (the emulator's).
 */
export type WindowsPasswordFinding =
  | { readonly kind: 'decrypted' }
  | { readonly kind: 'undecryptable'; readonly reason: string }
  | { readonly kind: 'none'; readonly waitedSeconds: number }
  | { readonly kind: 'unprovable'; readonly why: string; readonly answered: boolean };

/**
 * The Windows password check: EC2Launch sets a new Administrator password at the first boot after Sysprep and
 * encrypts it with the launch key pair; an image captured without Sysprep keeps the build's password and sets none,
 * so GetPasswordData stays empty.
 */
export function judgeWindowsPassword(image: Pick<ResolvedImage, 'generalize'>, finding: WindowsPasswordFinding): NewMachineCheck {
  const name = windowsPasswordCheckName;
  if (image.generalize.kind === 'off') return { name, verdict: 'kept-by-choice', reason: `generalize is turned off: ${image.generalize.reason}` };
  switch (finding.kind) {
    case 'decrypted':
      return { name, verdict: 'passed', reason: 'EC2Launch set a password at first boot, and it decrypts with the key pair gild launched the instance with' };
    case 'undecryptable':
      return { name, verdict: 'failed', reason: finding.reason };
    case 'none':
      return {
        name,
        verdict: 'failed',
        reason: `GetPasswordData stayed empty for ${finding.waitedSeconds}s: no new Administrator password was set at first boot, so Sysprep did not run (or EC2Launch's password task is off)`,
      };
    case 'unprovable':
      return { name, verdict: 'not-verified', reason: `GetPasswordData answered ${finding.answered ? 'a PasswordData' : 'an empty PasswordData'}, which proves nothing here: ${finding.why}` };
  }
}

/** The names of the built-in checks for an image, in the order they are reported. */
export function newMachineCheckNames(image: Pick<ResolvedImage, 'platform'>): string[] {
  return image.platform === 'windows' ? [...windowsChecks.map((check) => check.name), windowsPasswordCheckName] : linuxChecks.map((check) => check.name);
}

/**
 * Judges one instance. `build` is undefined when there is no record of the build instance; `missingRecord` then says
 * why, for the not-verified verdicts.
 */
export function judgeNewMachine(image: Pick<ResolvedImage, 'platform' | 'generalize'>, build: MachineIdentity | undefined, instance: MachineIdentity, missingRecord: string): NewMachineCheck[] {
  const { generalize } = image;
  return (image.platform === 'windows' ? windowsChecks : linuxChecks).map((check): NewMachineCheck => {
    if (generalize.kind === 'off') return { name: check.name, verdict: 'kept-by-choice', reason: `generalize is turned off: ${generalize.reason}` };
    if (check.item !== 'sysprep' && generalize.keep.includes(check.item)) {
      return { name: check.name, verdict: 'kept-by-choice', reason: `the definition keeps ${check.item}: ${generalize.reason ?? ''}` };
    }
    if (!build) return { name: check.name, verdict: 'not-verified', reason: missingRecord };
    const judged = check.judge(build, instance);
    return 'failed' in judged ? { name: check.name, verdict: 'failed', reason: judged.failed } : { name: check.name, verdict: 'passed', reason: judged.passed };
  });
}
