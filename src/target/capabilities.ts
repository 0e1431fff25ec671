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
}

const realAws: TargetCapabilities = { references: { parameterDataTypeFilter: true, imageReferences: true }, imageDeprecation: true, snapshotImageFilter: true };
/**
 * moto refuses DescribeParameters' DataType filter, lacks DescribeImageReferences, EnableImageDeprecation and
 * DisableImage, and does not implement DescribeImages' `block-device-mapping.snapshot-id` filter.
 */
const emulator: TargetCapabilities = { references: { parameterDataTypeFilter: false, imageReferences: false }, imageDeprecation: false, snapshotImageFilter: false };

export const targetCapabilities = (context: Context): TargetCapabilities => (context.options.emulator ? emulator : realAws);
