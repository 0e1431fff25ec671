/**
 * Merges a definition's raw `packerSource` settings into the source block.
 * It is an escape hatch for builder settings gild does not model, never a way
 * around gild's checks: settings gild sets from the definition (sharing, which
 * gild applies itself after the smoke test, encryption, tags, naming, a
 * target's own EC2 endpoint) are refused here, so the rules that check the
 * definition still hold for what Packer receives.
 */
import { sharingKeyProblem } from '../definition/packer-source-rules.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { attribute, block, isHclIdentifier, type HclBody, type HclEntry, type HclValue } from './hcl.ts';

/** Settings gild owns, and the definition field to set instead. */
const ownedSettings: Readonly<Record<string, string>> = {
  region: 'regions.build',
  source_ami: 'base',
  source_ami_filter: 'base',
  instance_type: 'instanceType',
  ami_name: 'name and version',
  ami_description: 'description',
  ami_regions: 'regions.copies',
  tags: 'tags',
  snapshot_tags: 'tags',
  run_tags: 'tags',
  run_volume_tags: 'tags',
  encrypt_boot: 'encryption',
  kms_key_id: 'encryption.kmsKeyId',
  region_kms_key_ids: 'encryption.regionKmsKeyIds',
  deprecate_at: 'deprecateAfterDays',
  launch_block_device_mappings: 'blockDevices.launch',
  ami_block_device_mappings: 'blockDevices.ami',
  iam_instance_profile: 'buildInfrastructure.instanceProfile',
  temporary_iam_instance_profile_policy_document: 'buildInfrastructure.temporaryInstanceProfile',
  metadata_options: 'buildInfrastructure.requireImdsV2',
  imds_support: 'buildInfrastructure.requireImdsV2',
  communicator: 'platform',
  custom_endpoint_ec2: 'nothing: gild sets it only for a target with its own EC2 endpoint (gild run --local)',
  temporary_key_pair_name: 'nothing: gild names the key pair with the run ID so that leftovers can be found',
  security_group_id: 'buildInfrastructure.securityGroupIds',
  skip_region_validation: 'nothing: gild sets it only for a target with its own EC2 endpoint (gild run --local)',
  ssh_clear_authorized_keys: "generalize (keep: ['authorized-keys'] with a reason)",
  disable_stop_instance: 'generalize (Sysprep stops a Windows instance; { enabled: false, reason } turns it off)',
};

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function toHclValue(value: unknown, field: string, problems: string[]): HclValue | undefined {
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  if (Array.isArray(value)) {
    const items = value.map((item, index) => toHclValue(item, `${field}[${index}]`, problems));
    return items.every((item) => item !== undefined) ? (items as HclValue[]) : undefined;
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(([key, item]) => [key, toHclValue(item, `${field}.${key}`, problems)] as const);
    return entries.every(([, item]) => item !== undefined) ? (Object.fromEntries(entries) as Record<string, HclValue>) : undefined;
  }
  problems.push(`${field}: ${String(value)} is not a string, number, boolean, list or map, so it cannot go into a Packer template.`);
  return undefined;
}

/** A list of maps becomes repeated blocks (`[{...}]` for a single block); anything else is an attribute. */
function toEntry(name: string, value: unknown, field: string, problems: string[]): HclEntry[] {
  if (Array.isArray(value) && value.length > 0 && value.every(isPlainObject)) {
    return value.flatMap((item, index) => {
      const body = Object.entries(item).flatMap(([key, nested]) => (checkName(key, `${field}[${index}].${key}`, problems) ? toEntry(key, nested, `${field}[${index}].${key}`, problems) : []));
      return [block(name, body)];
    });
  }
  const hclValue = toHclValue(value, field, problems);
  return hclValue === undefined ? [] : [attribute(name, hclValue)];
}

function checkName(name: string, field: string, problems: string[]): boolean {
  if (isHclIdentifier(name)) return true;
  problems.push(`${field}: "${name}" is not a Packer setting name. Use the snake_case name from the amazon-ebs builder's documentation.`);
  return false;
}

function publicGroupProblem(image: ResolvedImage, name: string, value: unknown): string | undefined {
  const groups = Array.isArray(value) ? value : [value];
  if (!groups.includes('all') || image.launchPermissions.kind === 'public') return undefined;
  return `${image.file}: packerSource.${name}: "all" would make the AMI public, which this image does not allow. Set launchPermissions to { public: true, reason: "..." } instead, so the rules pass can check it.`;
}

/** Returns the merged body, or every problem found with the image's packerSource. */
export function mergePackerSource(image: ResolvedImage, body: HclBody): { body: HclBody; problems: string[] } {
  const problems: string[] = [];
  const extra: HclEntry[] = [];
  for (const [name, value] of Object.entries(image.packerSource)) {
    const field = `packerSource.${name}`;
    const publicProblem = name === 'ami_groups' || name === 'snapshot_groups' ? publicGroupProblem(image, name, value) : undefined;
    if (publicProblem) {
      problems.push(publicProblem);
      continue;
    }
    const sharing = sharingKeyProblem(`${image.file}: ${field}:`, name);
    if (sharing) {
      problems.push(sharing);
      continue;
    }
    const owner = Object.hasOwn(ownedSettings, name) ? ownedSettings[name] : undefined;
    if (owner !== undefined) {
      problems.push(`${image.file}: ${field}: gild renders "${name}" from the definition and checks it there. Set ${owner} instead.`);
      continue;
    }
    const fieldProblems: string[] = [];
    if (checkName(name, field, fieldProblems)) extra.push(...toEntry(name, value, field, fieldProblems));
    problems.push(...fieldProblems.map((problem) => `${image.file}: ${problem}`));
  }
  return { body: [...body, ...extra], problems };
}
