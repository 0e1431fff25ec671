/**
 * The settings of the `amazon-ebs` source block, as data, in the order a
 * reader looks for them: where and from what, the AMI, tags, encryption,
 * network, access, and disks. Pure: everything comes from the ResolvedImage
 * and the planner's inputs.
 *
 * NOTE: no sharing (`ami_users`, `snapshot_users`, `ami_org_arns`, …): Packer
 * shares an AMI before it tags it and before the smoke test, so gild applies
 * launchPermissions itself in the `share` step (src/stages/share.ts), after both.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { BlockDevice } from '../definition/schema.ts';
import { attribute, block, type HclBody, type HclEntry } from './hcl.ts';

export interface SourceInput {
  readonly baseAmiId: string;
  readonly amiName: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly runTags: Readonly<Record<string, string>>;
  /** custom_endpoint_ec2, when Packer talks to an EC2 API other than AWS's own (the target profile's answer). */
  readonly ec2Endpoint: string | undefined;
  /** Nothing can connect to the build instance (the target profile's answer): communicator "none". */
  readonly instancesUnreachable: boolean;
  /** The user data that turns WinRM on, for Windows images. */
  readonly windowsUserData: string;
  readonly now: Date;
  readonly keyPairName?: string | undefined;
  readonly securityGroupId?: string | undefined;
}

/** What AmazonSSMManagedInstanceCore allows: enough for Session Manager and Run Command. */
export const sessionManagerActions: readonly string[] = [
  'ssm:DescribeAssociation',
  'ssm:GetDeployablePatchSnapshotForInstance',
  'ssm:GetDocument',
  'ssm:DescribeDocument',
  'ssm:GetManifest',
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:ListAssociations',
  'ssm:ListInstanceAssociations',
  'ssm:PutInventory',
  'ssm:PutComplianceItems',
  'ssm:PutConfigurePackageResult',
  'ssm:UpdateAssociationStatus',
  'ssm:UpdateInstanceAssociationStatus',
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
];

const gp3Defaults = { iops: 3000, throughput: 125 } as const;

const when = (condition: boolean, ...entries: HclEntry[]): HclEntry[] => (condition ? entries : []);

/** RFC 3339 without fractional seconds, which is what EC2 stores. */
export function deprecationTime(now: Date, days: number): string {
  return new Date(now.getTime() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function location(image: ResolvedImage, input: SourceInput): HclEntry[] {
  return [
    attribute('region', image.buildRegion),
    attribute('source_ami', input.baseAmiId),
    attribute('instance_type', image.instanceType),
    ...when(input.ec2Endpoint !== undefined, attribute('custom_endpoint_ec2', input.ec2Endpoint ?? ''), attribute('skip_region_validation', true)),
  ];
}

function amiIdentity(image: ResolvedImage, input: SourceInput): HclEntry[] {
  const copyRegions = image.regions.filter((region) => region !== image.buildRegion);
  return [
    attribute('ami_name', input.amiName),
    attribute('ami_virtualization_type', 'hvm'),
    ...when(copyRegions.length > 0, attribute('ami_regions', copyRegions)),
    ...when(image.deprecateAfterDays !== undefined, attribute('deprecate_at', deprecationTime(input.now, image.deprecateAfterDays ?? 0))),
  ];
}

/**
 * No snapshot_tags: Packer (1.6.6 and the modern amazon plugin alike) tags the AMI and its snapshots with `tags` in
 * one CreateTags, then the snapshots again with `snapshot_tags` when set. That second call re-sends gild:image to
 * snapshots that already carry it, which the policy's NeverMoveOwnership deny refuses on AWS (the IAM simulation,
 * test/integration/iam-simulation-settings.test.ts, shows it); without it the snapshots get exactly the AMI's tags.
 */
function tagging(input: SourceInput): HclEntry[] {
  return [attribute('tags', input.tags), attribute('run_tags', input.runTags), attribute('run_volume_tags', input.runTags)];
}

/** Packer 1.6.6 insists that region_kms_key_ids names every copy region once it is set. */
function encryption(image: ResolvedImage): HclEntry[] {
  if (!image.encryption) return [];
  const { kmsKeyId, regionKmsKeyIds } = image.encryption;
  const copyRegions = image.regions.filter((region) => region !== image.buildRegion);
  const keysByRegion = Object.fromEntries(copyRegions.map((region) => [region, regionKmsKeyIds[region] ?? kmsKeyId]));
  return [attribute('encrypt_boot', true), attribute('kms_key_id', regionKmsKeyIds[image.buildRegion] ?? kmsKeyId), ...when(copyRegions.length > 0, attribute('region_kms_key_ids', keysByRegion))];
}

function network(image: ResolvedImage, input: SourceInput): HclEntry[] {
  const infrastructure = image.buildInfrastructure;
  return [
    ...when(infrastructure.vpcId !== undefined, attribute('vpc_id', infrastructure.vpcId ?? '')),
    ...when(infrastructure.subnetId !== undefined, attribute('subnet_id', infrastructure.subnetId ?? '')),
    ...when(
      infrastructure.subnetId === undefined && infrastructure.subnetFilter !== undefined,
      block('subnet_filter', [attribute('filters', infrastructure.subnetFilter ?? {}), attribute('most_free', true)]),
    ),
    ...when(infrastructure.securityGroupIds.length > 0, attribute('security_group_ids', infrastructure.securityGroupIds)),
    // The engine's tagged group for this build, so Packer creates no temporary one; the definition's own groups win.
    ...when(infrastructure.securityGroupIds.length === 0 && input.securityGroupId !== undefined, attribute('security_group_id', input.securityGroupId ?? '')),
  ];
}

/** Packer's IAM calls do not follow custom_endpoint_ec2: behind another EC2 endpoint a temporary profile would be created in real AWS. */
function instanceProfile(image: ResolvedImage, input: SourceInput): HclEntry[] {
  const infrastructure = image.buildInfrastructure;
  if (infrastructure.instanceProfile !== undefined) return [attribute('iam_instance_profile', infrastructure.instanceProfile)];
  if (!infrastructure.temporaryInstanceProfile || input.ec2Endpoint !== undefined) return [];
  return [
    block('temporary_iam_instance_profile_policy_document', [
      attribute('Version', '2012-10-17'),
      block('Statement', [attribute('Effect', 'Allow'), attribute('Action', sessionManagerActions), attribute('Resource', ['*'])]),
    ]),
  ];
}

function communicator(image: ResolvedImage, input: SourceInput): HclEntry[] {
  const infrastructure = image.buildInfrastructure;
  if (input.instancesUnreachable) return [attribute('communicator', 'none')];
  const generalizing = image.generalize.kind === 'on';
  if (image.platform === 'windows') {
    return [
      // NOTE: the generalize step's Sysprep stops the instance itself; Packer waits for the stop instead of asking for it,
      // for up to 30 minutes (15 s × 120) rather than the AWS waiters' default of 10, since Sysprep takes minutes.
      ...when(generalizing, attribute('disable_stop_instance', true), block('aws_polling', [attribute('delay_seconds', 15), attribute('max_attempts', 120)])),
      attribute('communicator', 'winrm'),
      attribute('winrm_username', infrastructure.sshUsername),
      attribute('winrm_use_ssl', true),
      // NOTE: the certificate is the self-signed one the user data creates; the connection is still encrypted.
      attribute('winrm_insecure', true),
      attribute('winrm_timeout', '30m'),
      attribute('user_data', input.windowsUserData),
    ];
  }
  return [
    attribute('communicator', 'ssh'),
    attribute('ssh_username', infrastructure.sshUsername),
    ...when(infrastructure.sessionManager, attribute('ssh_interface', 'session_manager')),
    // The generalize step's last item: Packer removes its temporary key from authorized_keys after the provisioners.
    ...when(generalizing && !(image.generalize.kind === 'on' && image.generalize.keep.includes('authorized-keys')), attribute('ssh_clear_authorized_keys', true)),
  ];
}

function instanceMetadata(image: ResolvedImage): HclEntry[] {
  if (!image.buildInfrastructure.requireImdsV2) return [];
  return [block('metadata_options', [attribute('http_endpoint', 'enabled'), attribute('http_tokens', 'required'), attribute('http_put_response_hop_limit', 1)]), attribute('imds_support', 'v2.0')];
}

export function blockDeviceBody(device: Readonly<BlockDevice>): HclBody {
  const gp3 = device.type === 'gp3';
  const iops = device.iops ?? (gp3 ? gp3Defaults.iops : undefined);
  const throughput = device.throughput ?? (gp3 ? gp3Defaults.throughput : undefined);
  return [
    attribute('device_name', device.deviceName),
    ...when(device.sizeGiB !== undefined, attribute('volume_size', device.sizeGiB ?? 0)),
    attribute('volume_type', device.type),
    ...when(iops !== undefined, attribute('iops', iops ?? 0)),
    ...when(throughput !== undefined, attribute('throughput', throughput ?? 0)),
    ...when(device.encrypted !== undefined, attribute('encrypted', device.encrypted ?? false)),
    ...when(device.kmsKeyId !== undefined, attribute('kms_key_id', device.kmsKeyId ?? '')),
    attribute('delete_on_termination', device.deleteOnTermination),
    ...when(device.snapshotId !== undefined, attribute('snapshot_id', device.snapshotId ?? '')),
  ];
}

/**
 * An encrypted image encrypts every volume, not only the boot volume that
 * encrypt_boot covers: each device without a key of its own gets the build
 * region's key. Copies are re-encrypted with each region's key by
 * region_kms_key_ids, which applies to every snapshot of the AMI.
 */
function withImageEncryption(image: ResolvedImage, device: Readonly<BlockDevice>): Readonly<BlockDevice> {
  if (!image.encryption) return device;
  const kmsKeyId = image.encryption.regionKmsKeyIds[image.buildRegion] ?? image.encryption.kmsKeyId;
  return { ...device, encrypted: true, kmsKeyId: device.kmsKeyId ?? kmsKeyId };
}

function disks(image: ResolvedImage): HclEntry[] {
  return [
    ...image.launchBlockDevices.map((device) => block('launch_block_device_mappings', blockDeviceBody(withImageEncryption(image, device)))),
    ...image.amiBlockDevices.map((device) => block('ami_block_device_mappings', blockDeviceBody(withImageEncryption(image, device)))),
  ];
}

export function buildSourceSettings(image: ResolvedImage, input: SourceInput): HclBody {
  return [
    ...location(image, input),
    ...amiIdentity(image, input),
    ...tagging(input),
    ...encryption(image),
    ...network(image, input),
    ...instanceProfile(image, input),
    ...communicator(image, input),
    // NOTE: named with the run ID so that a sweep can find the key pair if Packer is killed before it deletes it.
    ...when(input.keyPairName !== undefined, attribute('temporary_key_pair_name', input.keyPairName ?? '')),
    ...instanceMetadata(image),
    ...disks(image),
  ];
}
