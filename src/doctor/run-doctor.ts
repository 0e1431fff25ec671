/**
 * Every check of `gild doctor`, in the order a reader fixes them: who the
 * credentials are first (nothing else means much without it), then the
 * account's regions, Packer, the policy, the roles and keys, the network, the
 * prefix, and last whether the Recycle Bin keeps what retirement removes. Read only: no call here changes the account.
 */
import { callerIdentity } from '../adapters/sts.ts';
import { checkDistributionRoles, checkIdentity, checkImageBlockPublicAccess, checkPacker, checkPolicy, checkRegions, checkSsmPrefix } from './check-account.ts';
import { checkInstanceProfiles, checkSubnets } from './check-instances.ts';
import { checkKeys } from './check-keys.ts';
import { checkRecycleBin } from './check-recycle-bin.ts';
import { failed, type DoctorCheck } from './doctor-check.ts';
import type { DoctorInput } from './doctor-input.ts';

export async function runDoctor(input: DoctorInput): Promise<DoctorCheck[]> {
  let identity;
  try {
    identity = await callerIdentity(input.env);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return [
      failed(
        'caller identity',
        '(credentials)',
        `STS GetCallerIdentity failed: ${message}`,
        'run with the credentials the nightly uses (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a role) and AWS_REGION set',
      ),
      ...(await checkPacker()),
    ];
  }
  // NOTE: independent reads run side by side; the order of the lines is fixed by this list, not by who answers first.
  const groups = await Promise.all([
    checkIdentity(input, identity),
    checkRegions(input),
    checkPacker(),
    checkPolicy(input, identity),
    checkInstanceProfiles(input),
    checkSubnets(input),
    checkKeys(input),
    checkImageBlockPublicAccess(input),
    checkSsmPrefix(input),
    checkDistributionRoles(input, identity),
    checkRecycleBin(input),
  ]);
  return groups.flat();
}
