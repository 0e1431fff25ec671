/**
 * `packerSource` passes raw settings to Packer's amazon-ebs source. It is an
 * escape hatch, not a way around validation: keys gild renders from checked
 * fields are refused, with the field to use instead.
 */
import type { ResolvedImage } from './resolved-image.ts';

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Keys gild owns, and the definition field that sets each. */
export const ownedPackerKeys: Readonly<Record<string, string>> = {
  ami_name: 'name and version (gild names AMIs itself)',
  ami_description: 'description',
  ami_users: 'launchPermissions.accounts',
  snapshot_users: 'launchPermissions.accounts (gild shares snapshots with the same accounts)',
  ami_org_arns: 'launchPermissions.organizationArns',
  ami_ou_arns: 'launchPermissions.organizationalUnitArns',
  ami_groups: 'launchPermissions',
  snapshot_groups: 'launchPermissions',
  tags: 'tags',
  snapshot_tags: 'tags',
  run_tags: 'tags (gild tags build instances with the run ID so that a sweep finds leftovers)',
  run_volume_tags: 'tags',
  region: 'regions.build',
  ami_regions: 'regions.copies',
  encrypt_boot: 'encryption',
  kms_key_id: 'encryption.kmsKeyId',
  region_kms_key_ids: 'encryption.regionKmsKeyIds',
  source_ami: 'base',
  source_ami_filter: 'base',
  instance_type: 'instanceType',
  launch_block_device_mappings: 'blockDevices.launch',
  ami_block_device_mappings: 'blockDevices.ami',
  subnet_id: 'buildInfrastructure.subnetId',
  vpc_id: 'buildInfrastructure.vpcId',
  subnet_filter: 'buildInfrastructure.subnetFilter',
  security_group_ids: 'buildInfrastructure.securityGroupIds',
  iam_instance_profile: 'buildInfrastructure.instanceProfile',
  temporary_iam_instance_profile_policy_document: 'buildInfrastructure.temporaryInstanceProfile',
  ssh_interface: 'buildInfrastructure.sessionManager',
  ssh_username: 'buildInfrastructure.sshUsername',
  metadata_options: 'buildInfrastructure.requireImdsV2',
  imds_support: 'buildInfrastructure.requireImdsV2',
  deprecate_at: 'deprecateAfterDays',
  custom_endpoint_ec2: '`gild run --local` (gild sets the endpoint for the emulator)',
  skip_region_validation: 'regions (gild checks region names itself)',
};

/** On Windows gild configures WinRM; overriding the communicator would break the connection it sets up. */
const windowsCommunicatorKey = /^(?:communicator|winrm_.*|ssh_.*|pause_before_connecting)$/;

export function checkPackerSource(image: ResolvedImage): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(image.packerSource)) {
    const where = `${image.file}: packerSource.${key}:`;
    if (!identifier.test(key)) {
      problems.push(`${image.file}: packerSource: key ${JSON.stringify(key)} is not a Packer setting name. Keys are identifiers such as "ena_support".`);
      continue;
    }
    if ((key === 'ami_groups' || key === 'snapshot_groups') && Array.isArray(value) && value.includes('all') && image.launchPermissions.kind !== 'public') {
      problems.push(`${where} ["all"] would make the image public without the checks that launchPermissions applies (least privilege). Use launchPermissions: { public: true, reason: "…" }, which pipeline/settings.ts must allow.`);
      continue;
    }
    if (key === 'encrypt_boot' && value === false && image.encryption) {
      problems.push(`${where} false contradicts encryption, which encrypts the boot volume. Remove packerSource.encrypt_boot, or remove encryption.`);
      continue;
    }
    const instead = ownedPackerKeys[key];
    if (instead) {
      problems.push(`${where} is set by gild from the definition, so it cannot be overridden here. Use ${instead} instead.`);
      continue;
    }
    if (image.platform === 'windows' && windowsCommunicatorKey.test(key)) {
      problems.push(`${where} overrides the WinRM communicator gild configures for Windows images. Remove it; gild connects with WinRM over HTTPS.`);
    }
  }
  return problems;
}
