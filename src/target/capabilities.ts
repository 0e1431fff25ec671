/**
 * What the AWS API gild talks to can do. Real AWS can do everything; the local
 * emulator (moto) lacks a few calls. The choice is made once, where the
 * emulator is chosen (the CLI says so in the log), and only this decides it:
 * no stage or observer sniffs for an emulator.
 */
import type { Context } from '../context.ts';
import type { ReferenceCapabilities } from '../observe/observe-references.ts';

export interface TargetCapabilities {
  readonly references: ReferenceCapabilities;
  /** EnableImageDeprecation and DisableImage exist (moto answers 500). */
  readonly imageDeprecation: boolean;
  /** DescribeImages filters on `block-device-mapping.snapshot-id` (moto does not implement that filter). */
  readonly snapshotImageFilter: boolean;
  /**
   * CopyImage in one account of an AMI another account shared with it. moto keeps each account's AMIs apart and
   * answers InvalidAMIID.NotFound, so on the emulator the copy is stood in for by a RegisterImage in the target
   * account (see copyImageIntoAccount in src/adapters/ec2.ts): a real AMI that account owns, without the source's disks.
   */
  readonly crossAccountCopyImage: boolean;
  /** EC2's Recycle Bin calls (ListImagesInRecycleBin): moto has no Recycle Bin. */
  readonly recycleBin: boolean;
  /** Enable/DisableImageDeregistrationProtection (moto answers 500). */
  readonly deregistrationProtection: boolean;
}

const realAws: TargetCapabilities = { references: { parameterDataTypeFilter: true, imageReferences: true }, imageDeprecation: true, snapshotImageFilter: true, crossAccountCopyImage: true, recycleBin: true, deregistrationProtection: true };
/**
 * moto refuses DescribeParameters' DataType filter, lacks DescribeImageReferences, EnableImageDeprecation and
 * DisableImage, does not implement DescribeImages' `block-device-mapping.snapshot-id` filter, and cannot CopyImage an
 * AMI shared from another account. It has no Recycle Bin.
 */
const emulator: TargetCapabilities = { references: { parameterDataTypeFilter: false, imageReferences: false }, imageDeprecation: false, snapshotImageFilter: false, crossAccountCopyImage: false, recycleBin: false, deregistrationProtection: false };

export const targetCapabilities = (context: Context): TargetCapabilities => (context.options.emulator ? emulator : realAws);
