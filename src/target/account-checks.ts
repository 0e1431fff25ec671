/**
 * What `gild doctor` can ask the account it talks to. Real AWS answers every
 * question; the local emulator (moto) answers most, and what it cannot answer
 * is said as "not checked", never passed. Decided where the target is chosen
 * (context.options.emulator), as capabilities.ts decides for runs: the doctor's
 * checks ask this profile and never sniff for an emulator.
 */
import type { Context } from '../context.ts';

export interface AccountCheckCapabilities {
  /**
   * iam:SimulatePrincipalPolicy evaluates the caller's policies (and iam:PassRole of the instance profiles' roles);
   * otherwise the reason it cannot.
   */
  readonly policySimulation: true | string;
  /** ec2:GetImageBlockPublicAccessState; otherwise the reason it cannot. */
  readonly imageBlockPublicAccess: true | string;
}

const realAws: AccountCheckCapabilities = { policySimulation: true, imageBlockPublicAccess: true };

/** Both calls answer HTTP 500 in moto 5.2 (its IAM and EC2 do not implement them; checked against moto's source). */
const emulator: AccountCheckCapabilities = {
  policySimulation: 'the emulator cannot answer iam:SimulatePrincipalPolicy (moto does not implement it), so the policy and iam:PassRole are not evaluated',
  imageBlockPublicAccess: 'the emulator cannot answer ec2:GetImageBlockPublicAccessState (moto does not implement it)',
};

export const accountCheckCapabilities = (context: Context): AccountCheckCapabilities => (context.options.emulator ? emulator : realAws);
