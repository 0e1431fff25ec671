/**
 * `packerSource` passes raw settings to Packer's amazon-ebs source. It is an
 * escape hatch, not a way around validation: keys gild renders from checked
 * fields are refused, with the field to use instead.
 */
import type { ResolvedImage } from './resolved-image.ts';
import { maxUserTags, tagBudgetReason } from './schema.ts';

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Packer's sharing settings, and the definition field to use instead. Packer would share the AMI before gild tags
 * it and before its smoke test; gild applies launchPermissions itself, after both (the `share` step).
 */
export const sharingPackerKeys: Readonly<Record<string, string>> = {
  ami_users: 'launchPermissions.accounts',
  snapshot_users: 'launchPermissions.accounts (gild shares the snapshots with the same accounts)',
  ami_org_arns: 'launchPermissions.organizationArns',
  ami_ou_arns: 'launchPermissions.organizationalUnitArns',
  ami_groups: 'launchPermissions ({ public: true, reason: "…" })',
  snapshot_groups: 'launchPermissions ({ public: true, reason: "…" })',
};

/** The message for a sharing setting in packerSource, where `where` is `<file>: packerSource.<key>:`. */
export function sharingKeyProblem(where: string, key: string): string | undefined {
  const instead = Object.hasOwn(sharingPackerKeys, key) ? sharingPackerKeys[key] : undefined;
  return instead
    ? `${where} Packer would share the AMI before gild tags it and before its smoke test; gild applies launchPermissions itself, after the smoke test. Use ${instead} instead.`
    : undefined;
}

/** Keys gild owns, and the definition field that sets each. */
export const ownedPackerKeys: Readonly<Record<string, string>> = {
  ami_name: 'name and version (gild names AMIs itself)',
  ami_description: 'description',
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
  temporary_key_pair_name: 'nothing: gild names the key pair with the run ID so that leftovers can be found',
  security_group_id: 'buildInfrastructure.securityGroupIds',
  skip_region_validation: 'regions (gild checks region names itself)',
  ssh_clear_authorized_keys: "generalize (keep: ['authorized-keys'] with a reason)",
  disable_stop_instance: 'generalize (Sysprep stops a Windows instance; { enabled: false, reason } turns it off)',
};

/** On Windows gild configures WinRM; overriding the communicator would break the connection it sets up. */
const windowsCommunicatorKey = /^(?:communicator|winrm_.*|ssh_.*|pause_before_connecting)$/;

/** `tag`, `run_tag`, `snapshot_tag`, `spot_tags`, `fleet_tags`, …: every setting that tags something. */
const tagSettingKey = /(?:^|_)tags?$/;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The key/value pairs a tag setting holds, in either of its forms: a map, or blocks of `{ key, value }`. */
function tagPairs(value: unknown, field: string, problems: string[]): [string, unknown, string][] {
  const blocks = Array.isArray(value) ? value : isRecord(value) && 'key' in value ? [value] : undefined;
  if (blocks) {
    return blocks.flatMap((item, index): [string, unknown, string][] => {
      const where = Array.isArray(value) ? `${field}[${index}]` : field;
      if (isRecord(item) && typeof item.key === 'string') return [[item.key, item.value, where]];
      problems.push(`${where}: a tag block needs a string "key" and a "value", e.g. { key: "team", value: "platform" }.`);
      return [];
    });
  }
  if (isRecord(value)) return Object.entries(value).map(([key, tagValue]): [string, unknown, string] => [key, tagValue, `${field}.${key}`]);
  problems.push(`${field}: is neither a map of tags nor a list of { key, value } blocks.`);
  return [];
}

/** The rules `tags` follows (schema.ts and rules.ts), for tags set through packerSource. */
function checkTagSetting(image: ResolvedImage, key: string, value: unknown): string[] {
  const problems: string[] = [];
  const field = `${image.file}: packerSource.${key}`;
  const pairs = tagPairs(value, field, problems);
  for (const [tagKey, tagValue, where] of pairs) {
    if (tagKey.startsWith('gild:')) problems.push(`${where}: the tag key "${tagKey}" is set by gild itself (it finds its AMIs and build instances by it). Remove it.`);
    else if (tagKey.toLowerCase().startsWith('aws:')) problems.push(`${where}: the tag key "${tagKey}" starts with "aws:", which AWS reserves. Rename it.`);
    else if (tagKey.length === 0 || tagKey.length > 128) problems.push(`${where}: tag keys are 1 to 128 characters; this one has ${tagKey.length}. Shorten it.`);
    if (typeof tagValue !== 'string') problems.push(`${where}: tag values are strings; got ${tagValue === null ? 'null' : typeof tagValue}. Quote it.`);
    else if (tagValue.length > 256) problems.push(`${where}: tag values are at most 256 characters; this one has ${tagValue.length}. Shorten it.`);
  }
  const amiTags = key === 'tag' || key === 'snapshot_tag' ? Object.keys(image.tags).length : 0;
  if (pairs.length + amiTags > maxUserTags) problems.push(`${field}: sets ${pairs.length + amiTags} tags with tags; ${tagBudgetReason}. Remove some.`);
  return problems;
}

export function checkPackerSource(image: ResolvedImage): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(image.packerSource)) {
    const where = `${image.file}: packerSource.${key}:`;
    if (!identifier.test(key) || key in Object.prototype) {
      problems.push(`${image.file}: packerSource: key ${JSON.stringify(key)} is not a Packer setting name. Keys are identifiers such as "ena_support".`);
      continue;
    }
    if ((key === 'ami_groups' || key === 'snapshot_groups') && Array.isArray(value) && value.includes('all') && image.launchPermissions.kind !== 'public') {
      problems.push(
        `${where} ["all"] would make the image public without the checks that launchPermissions applies (least privilege). Use launchPermissions: { public: true, reason: "…" }, which pipeline/settings.ts must allow.`,
      );
      continue;
    }
    if (key === 'encrypt_boot' && value === false && image.encryption) {
      problems.push(`${where} false contradicts encryption, which encrypts the boot volume. Remove packerSource.encrypt_boot, or remove encryption.`);
      continue;
    }
    const sharing = sharingKeyProblem(where, key);
    if (sharing) {
      problems.push(sharing);
      continue;
    }
    const instead = Object.hasOwn(ownedPackerKeys, key) ? ownedPackerKeys[key] : undefined;
    if (instead) {
      problems.push(`${where} is set by gild from the definition, so it cannot be overridden here. Use ${instead} instead.`);
      continue;
    }
    if (tagSettingKey.test(key)) {
      problems.push(...checkTagSetting(image, key, value));
      continue;
    }
    if (image.platform === 'windows' && windowsCommunicatorKey.test(key)) {
      problems.push(`${where} overrides the WinRM communicator gild configures for Windows images. Remove it; gild connects with WinRM over HTTPS.`);
    }
  }
  return problems;
}
