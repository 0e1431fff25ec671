/**
 * What `gild doctor` can ask the account it talks to. Real AWS answers every
 * question; the local emulator (moto) answers most, and what it cannot answer
 * is said as "not checked", never passed. Each target profile
 * (src/target/target-profile.ts) carries one of these: the doctor's checks ask
 * it and never sniff for an emulator.
 */

export interface AccountCheckCapabilities {
  /**
   * iam:SimulatePrincipalPolicy evaluates the caller's policies (and iam:PassRole of the instance profiles' roles);
   * otherwise the reason it cannot.
   */
  readonly policySimulation: true | string;
  /** ec2:GetImageBlockPublicAccessState; otherwise the reason it cannot. */
  readonly imageBlockPublicAccess: true | string;
  /** rbin:ListRules (the Recycle Bin's retention rules); otherwise the reason it cannot. */
  readonly recycleBin: true | string;
}

export const awsAccountChecks: AccountCheckCapabilities = { policySimulation: true, imageBlockPublicAccess: true, recycleBin: true };

/** Each answers HTTP 500 in moto 5.2 (its IAM and EC2 do not implement them, and it has no rbin; checked against moto's source). */
export const emulatorAccountChecks: AccountCheckCapabilities = {
  policySimulation: 'the emulator cannot answer iam:SimulatePrincipalPolicy (moto does not implement it), so the policy and iam:PassRole are not evaluated',
  imageBlockPublicAccess: 'the emulator cannot answer ec2:GetImageBlockPublicAccessState (moto does not implement it)',
  recycleBin: 'the emulator has no Recycle Bin (moto does not implement rbin), so whether retired AMIs are kept is not known',
};
