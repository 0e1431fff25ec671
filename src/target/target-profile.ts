/**
 * The target profile: what the account gild talks to offers, and what to do where it lacks something. Stages,
 * observers and rendering ask `context.target` these questions and never learn which target answers; the two
 * profiles are src/target/aws-profile.ts (real AWS, the default) and src/target/emulator-profile.ts (moto, with the
 * stand-ins of src/local/). The profile is chosen once, where the run starts (src/target/choose-target.ts), and said
 * in the log there.
 */
import type { ReferenceCapabilities } from '../observe/observe-references.ts';
import type { AccountCheckCapabilities } from './account-checks.ts';
import type { CommandExecution } from './command-execution.ts';
import type { ContainerTwins } from './container-twins.ts';

/** What rendering needs to know about the account Packer builds in (src/render/render-template.ts). */
export interface PackerTarget {
  /**
   * The EC2 endpoint Packer talks to (`custom_endpoint_ec2`, with `skip_region_validation`), when it is not AWS's own.
   * Packer's IAM calls do not follow it, so no temporary instance profile is rendered then: it would be made elsewhere.
   */
  readonly ec2Endpoint?: string | undefined;
  /**
   * Why nothing can connect to the instances Packer launches (communicator "none"; provisioners, and gild's patch and
   * generalize steps, run only in a container twin), or undefined when Packer connects as usual. Said in the log.
   */
  readonly unreachableInstances?: string | undefined;
}

/** The source AMI Packer builds from, and what to say in the log when it is not the base the plan resolved. */
export interface BuildSource {
  readonly amiId: string;
  readonly note?: string | undefined;
}

/** Whether EnableImageDeprecation and DisableImage exist; where they do not, the AMI is only tagged and the log says so. */
export type ImageDeprecation = { readonly available: true } | { readonly available: false; lacking(calls: string): string };

/** How a copy of an AMI is made in another account (src/stages/distribute.ts). */
export interface AccountCopy {
  /** `copy-image`: CopyImage there; `register-stand-in`: a RegisterImage there, named and tagged as the copy. */
  readonly method: 'copy-image' | 'register-stand-in';
  /** How often the copy's state is read until it is available; undefined: the adapter's own pace. */
  readonly pollMs?: number | undefined;
  /** What the log says about the copy into `account` before it is made, when it is not a CopyImage. */
  note?(account: string): string;
}

/**
 * Whether GetPasswordData answers the password EC2Launch set at first boot, encrypted with the instance's key pair
 * (the smoke test's Windows new-machine check decrypts it); where it does not, why, which the check reports as
 * not verified, never passed.
 */
export type WindowsPasswordData = { readonly encrypted: true } | { readonly encrypted: false; readonly why: string };

export interface TargetProfile {
  /** Which profile, for the log and the doctor's answer only: nothing branches on it. */
  readonly name: 'aws' | 'emulator';
  /** The line the log says once, where the profile is chosen. */
  readonly announcement: string;
  /** What finding an AMI's users can ask (DescribeParameters' DataType filter, DescribeImageReferences). */
  readonly references: ReferenceCapabilities;
  /** DescribeImages filters on `block-device-mapping.snapshot-id`; without it every owned AMI is read and matched. */
  readonly snapshotImageFilter: boolean;
  readonly imageDeprecation: ImageDeprecation;
  /** Enable/DisableImageDeregistrationProtection exist; where they do not, a published AMI is tagged `gild:protected=unsupported`. */
  readonly deregistrationProtection: boolean;
  /** EC2's Recycle Bin (ListImagesInRecycleBin), asked when a restore finds its AMI gone. */
  readonly recycleBin: boolean;
  readonly accountCopy: AccountCopy;
  readonly packer: PackerTarget;
  /** The AMI Packer builds `imageName` from, given the base the plan resolved. */
  buildSource(imageName: string, baseAmiId: string): BuildSource;
  /** Container twins (src/target/twin-build.ts), or undefined where builds have none. */
  readonly twins: ContainerTwins | undefined;
  /** How smoke checks run (src/target/command-execution.ts). */
  readonly commandExecution: CommandExecution;
  /** What the smoke test's GetPasswordData proves (src/smoke/check-windows-password.ts). */
  readonly windowsPassword: WindowsPasswordData;
  /** What `gild doctor` can ask the account (src/target/account-checks.ts). */
  readonly accountChecks: AccountCheckCapabilities;
}
