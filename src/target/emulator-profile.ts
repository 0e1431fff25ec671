/**
 * The emulator target profile (moto, docs/emulator.md), made where the emulator is chosen (src/commands/run-steps.ts,
 * doctor), after src/local/ prepared it. What moto lacks is answered here, once, with what gild does instead:
 * - DescribeParameters refuses the `DataType` filter, and DescribeImageReferences, EnableImageDeprecation and
 *   DisableImage answer HTTP 500: every parameter value is scanned, and a deprecated or disabled AMI is only tagged.
 * - DescribeImages does not implement the `block-device-mapping.snapshot-id` filter: every owned AMI is matched.
 * - CopyImage of an AMI shared from another account answers InvalidAMIID.NotFound (each account is its own store):
 *   the copy is stood in for by a RegisterImage in that account (copyImageIntoAccount in src/adapters/).
 * - Every AMI moto makes has root device type `standard`, which Packer refuses as a source: an image built on a gild
 *   image builds from a stand-in source (src/local/prepare-emulator.ts), its tags still naming the real base.
 * - Its instances have no OS: Packer's communicator is "none", provisioners run only in container twins
 *   (src/local/prepare-twins.ts), and smoke checks run in the twin through the SSM stand-in (src/local/ssm-stand-in.ts).
 * - GetPasswordData answers random characters for a Windows-platform instance, encrypted with nothing: the Windows
 *   password check makes its calls and reports not-verified.
 */
import { emulatorAccountChecks } from './account-checks.ts';
import { inContainerTwins } from './command-execution.ts';
import type { ContainerTwins } from './container-twins.ts';
import type { TargetProfile } from './target-profile.ts';

export interface EmulatorProfileInput {
  readonly endpoint: string;
  /** Why this run targets the emulator (`--local`, GILD_TARGET=emulator), for the log. */
  readonly why?: string | undefined;
  /** Source AMIs Packer uses instead of a gild-built base, by image name (src/local/prepare-emulator.ts). */
  readonly standInSources?: Readonly<Record<string, string>>;
  /** Container twins (src/local/prepare-twins.ts); absent when no container engine answered. */
  readonly twins?: ContainerTwins | undefined;
}

export function emulatorProfile(input: EmulatorProfileInput): TargetProfile {
  const standInSources = input.standInSources ?? {};
  return {
    name: 'emulator',
    // NOTE: said every run, so nobody mistakes an emulator run for a real one, or the other way round.
    announcement: `target: the emulator at ${input.endpoint}${input.why ? ` (${input.why})` : ''}: communicator "none", provisioners only in container twins, stand-ins for what it lacks`,
    references: { parameterDataTypeFilter: false, imageReferences: false },
    snapshotImageFilter: false,
    deregistrationProtection: false,
    recycleBin: false,
    imageDeprecation: { available: false, lacking: (calls) => `the emulator has no ${calls}` },
    accountCopy: {
      method: 'register-stand-in',
      // NOTE: moto answers at once; the adapter's pace is AWS's.
      pollMs: 200,
      note: (account) =>
        `emulator: moto cannot CopyImage an AMI shared from another account, so the copy into ${account} is stood in for by RegisterImage there (an AMI that account owns, named and tagged as the copy, without the source's disks); sharing, tags and parameters are real`,
    },
    packer: { ec2Endpoint: input.endpoint, unreachableInstances: "the emulator's instances have no OS to run them on" },
    buildSource(imageName, baseAmiId) {
      const standIn = standInSources[imageName];
      if (!standIn) return { amiId: baseAmiId };
      return { amiId: standIn, note: `emulator: Packer cannot build from moto-made ${baseAmiId}; using stand-in ${standIn} as the source (tags still record ${baseAmiId})` };
    },
    twins: input.twins,
    commandExecution: inContainerTwins,
    windowsPassword: {
      encrypted: false,
      why: "the emulator's GetPasswordData answers 128 random characters for any Windows instance, not a password encrypted with its key pair, and nothing boots there to set one",
    },
    accountChecks: emulatorAccountChecks,
  };
}
