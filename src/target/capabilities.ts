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
}

const realAws: TargetCapabilities = { references: { parameterDataTypeFilter: true, imageReferences: true }, imageDeprecation: true };
/** moto refuses DescribeParameters' DataType filter and lacks DescribeImageReferences, EnableImageDeprecation and DisableImage. */
const emulator: TargetCapabilities = { references: { parameterDataTypeFilter: false, imageReferences: false }, imageDeprecation: false };

export const targetCapabilities = (context: Context): TargetCapabilities => (context.options.emulator ? emulator : realAws);
