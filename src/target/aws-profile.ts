/**
 * The AWS target profile, the default: every call gild makes exists, Packer builds from the base the plan resolved
 * and connects to its instance, a copy into another account is a CopyImage there, and smoke checks run on the
 * instance through Run Command.
 */
import { awsAccountChecks } from './account-checks.ts';
import { onInstances } from './command-execution.ts';
import type { TargetProfile } from './target-profile.ts';

export const awsProfile: TargetProfile = {
  name: 'aws',
  announcement: 'target: AWS',
  references: { parameterDataTypeFilter: true, imageReferences: true },
  snapshotImageFilter: true,
  deregistrationProtection: true,
  recycleBin: true,
  imageDeprecation: { available: true },
  accountCopy: { method: 'copy-image' },
  packer: {},
  buildSource: (_imageName, baseAmiId) => ({ amiId: baseAmiId }),
  twins: undefined,
  commandExecution: onInstances,
  windowsPassword: { encrypted: true },
  accountChecks: awsAccountChecks,
};
