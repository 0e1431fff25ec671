/**
 * The least-privilege IAM policy for the role gild (and the Packer it runs)
 * works as. Pure: a `PolicyScope` (what the settings and images need) goes in,
 * a policy document comes out. `pipeline/iam-policy.json` is this function's
 * output for the shipped project, and a test fails when they differ.
 *
 * The grants are a table: to support a new AWS call, add its action to the
 * grant whose resources and conditions fit it (or add a grant). Every grant
 * says why it exists; a grant with `when` is only emitted when the scope
 * needs it (no KMS statement without KMS keys, and so on).
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { PipelineSettings } from '../settings/schema.ts';

/** What the policy must cover, derived from the settings and image definitions. */
export interface PolicyScope {
  /** The SSM prefix gild publishes under, e.g. `/golden`. */
  readonly ssmPrefix: string;
  /** Regions gild may act in; empty means any (no `aws:RequestedRegion` condition). */
  readonly regions: readonly string[];
  /** The publishing account, or `*` when the settings do not name it. */
  readonly accountId: string;
  /** KMS keys images encrypt with (key IDs, aliases or ARNs). */
  readonly kmsKeys: readonly string[];
  /** Instance profiles passed to build and smoke instances (names or ARNs). */
  readonly instanceProfiles: readonly string[];
  /** Some image lets Packer create a temporary instance profile. */
  readonly temporaryInstanceProfile: boolean;
  /** Some image connects through Session Manager. */
  readonly sessionManager: boolean;
  /** Some image is built on spot capacity. */
  readonly spot: boolean;
  /** Some image is Windows (Packer reads the administrator password). */
  readonly windows: boolean;
  /** SSM parameters outside the prefix that bases resolve from (besides `/aws/service/`). */
  readonly baseParameters: readonly string[];
  /** Roles in distribution accounts gild assumes to copy and share there. */
  readonly distributionRoleArns: readonly string[];
  /** settings.allowPublicImages; absent means false: no snapshot may be made public. */
  readonly allowPublicImages?: boolean;
  /** settings.evidence: the bucket and key prefix each version's SBOM is stored under, read back by the next run. */
  readonly evidence?: { readonly bucket: string; readonly prefix: string };
  /**
   * Whose policy: the pipeline role's (default), or the role gild assumes in a distribution account (`gild iam-policy
   * --account-role`), which copies, tags, smoke-tests, publishes and retires there and builds nothing.
   */
  readonly role?: 'pipeline' | 'account';
  /** For the account role: some account smoke-tests its copies (`distribution.accounts[].smoke`). */
  readonly accountSmoke?: boolean;
  /** settings.notify: the SNS topics gild publishes to, and the EventBridge buses (ARNs) and source it puts events on. */
  readonly notify?: { readonly topics: readonly string[]; readonly buses: readonly string[]; readonly source: string | undefined };
}

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

/** The `gild:role` tag values of the instances gild and Packer launch. */
export const gildInstanceRoles = ['build', 'smoke'] as const;

/** Run Command documents the smoke test sends (ResolvedSmoke.documentName). */
export const smokeDocuments = ['AWS-RunShellScript', 'AWS-RunPowerShellScript'] as const;

/**
 * The resource types the create calls below tag at creation. A Resource must name a type: IAM's reference calls
 * `arn:aws:ec2:*:*:*\/*` invalid, and read literally it matches no resource, so tagging at creation would be denied.
 */
export const taggedAtCreation = ['instance', 'volume', 'network-interface', 'security-group', 'key-pair', 'launch-template', 'fleet', 'spot-instances-request'] as const;

/** Actions that create a resource and can tag it in the same call (the `ec2:CreateAction` values). */
export const taggedCreateActions = [
  'RunInstances',
  'CreateImage',
  'CopyImage',
  'CreateSnapshot',
  'CreateVolume',
  'CreateSecurityGroup',
  'CreateKeyPair',
  'CreateLaunchTemplate',
  'CreateFleet',
] as const;

interface Grant {
  readonly sid: string;
  readonly effect?: 'Deny';
  /** Why the grant exists; kept next to it, not emitted (IAM has no comment field). */
  readonly why: string;
  readonly when?: (scope: PolicyScope) => boolean;
  readonly actions: readonly string[] | ((scope: PolicyScope) => readonly string[]);
  readonly resources: (arn: Arns, scope: PolicyScope) => readonly string[];
  readonly condition?: (scope: PolicyScope) => NonNullable<PolicyStatement['Condition']>;
  /** IAM and STS are global: a region condition would never match their calls (S3's evidence bucket may be anywhere). */
  readonly global?: boolean;
  /**
   * What of this grant the distribution-account role needs: `all`, only these actions, or (`smoke`) all of it only
   * when some account smoke-tests its copies. Absent: the pipeline role's alone.
   */
  readonly accountRole?: 'all' | 'smoke' | readonly string[] | { readonly smokeOnly: true; readonly actions: readonly string[] };
}

interface Arns {
  ec2(resource: string, options?: { accountless?: boolean }): string;
  ssm(resource: string, options?: { accountless?: boolean }): string;
  iam(resource: string): string;
}

function arnsFor(scope: PolicyScope): Arns {
  return {
    ec2: (resource, options) => `arn:aws:ec2:*:${options?.accountless ? '' : scope.accountId}:${resource}`,
    ssm: (resource, options) => `arn:aws:ssm:*:${options?.accountless ? '' : scope.accountId}:${resource}`,
    iam: (resource) => `arn:aws:iam::${scope.accountId}:${resource}`,
  };
}

const taggedByGild = { StringLike: { 'aws:ResourceTag/gild:image': '?*' } };
const taggedGildRole = { StringEquals: { 'aws:ResourceTag/gild:role': [...gildInstanceRoles] } };

/** A profile's role is assumed to share the profile's name, which is how the console and most IaC create them. */
const roleNameOfProfile = (profile: string) =>
  profile
    .replace(/^arn:aws[a-z-]*:iam::\d{12}:instance-profile\//, '')
    .split('/')
    .pop() ?? profile;

const grants: readonly Grant[] = [
  {
    sid: 'ReadInventory',
    accountRole: 'all',
    why: "Observing AWS (images, snapshots and their sharing, instances, launch templates, Auto Scaling groups, parameters) and Packer's lookups. AWS supports no resource-level scoping for these reads.",
    actions: (scope) => [
      'ec2:DescribeImages',
      'ec2:DescribeImageAttribute',
      'ec2:DescribeImageReferences',
      'ec2:DescribeInstances',
      'ec2:DescribeInstanceStatus',
      'ec2:DescribeSnapshots',
      'ec2:DescribeSnapshotAttribute',
      'ec2:DescribeVolumes',
      'ec2:DescribeRegions',
      'ec2:DescribeSubnets',
      'ec2:DescribeVpcs',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeKeyPairs',
      'ec2:DescribeLaunchTemplates',
      'ec2:DescribeLaunchTemplateVersions',
      // Retirement's look at who uses an AMI: EC2 Fleets and Spot Fleet requests launch from AMIs and templates.
      'ec2:DescribeFleets',
      'ec2:DescribeSpotFleetRequests',
      // `gild restore` of a version whose AMI is gone: whether a Recycle Bin retention rule kept it, and its snapshots.
      'ec2:ListImagesInRecycleBin',
      'ec2:ListSnapshotsInRecycleBin',
      'autoscaling:DescribeAutoScalingGroups',
      'autoscaling:DescribeLaunchConfigurations',
      'ssm:DescribeParameters',
      'ssm:GetCommandInvocation',
      ...(scope.spot ? ['ec2:DescribeSpotPriceHistory', 'ec2:DescribeSpotInstanceRequests', 'ec2:DescribeFleetInstances'] : []),
      ...(scope.sessionManager ? ['ssm:DescribeSessions'] : []),
    ],
    resources: () => ['*'],
  },
  {
    sid: 'ReadRecycleBinRules',
    why: "The Recycle Bin's retention rules for AMIs and snapshots (read with the inventory of the commands that may retire, and by gild doctor and status): whether what retirement deregisters can still be brought back. ListRules supports no resource-level scoping; GetRule is read for every rule ListRules names.",
    actions: ['rbin:ListRules', 'rbin:GetRule'],
    resources: () => ['*'],
  },
  {
    sid: 'RestoreFromRecycleBin',
    why: "`gild restore` brings a version's AMI and its snapshots back from the Recycle Bin (planned unbin steps) in this account. Not scoped by gild's tags: whether IAM sees the tags of a resource in the bin is not documented, so the plan scopes it instead (an AMI named exactly <image>-<version>-<run ID> of a number at or below the ledger's highest, checked by its tags once back and sent back otherwise).",
    actions: ['ec2:RestoreImageFromRecycleBin', 'ec2:RestoreSnapshotFromRecycleBin'],
    resources: (arn) => [arn.ec2('image/*', { accountless: true }), arn.ec2('snapshot/*', { accountless: true })],
  },
  {
    sid: 'LaunchTaggedInstances',
    accountRole: 'smoke',
    why: 'Build and smoke instances and their volumes must be tagged gild:role when they are created, so that everything below can be scoped to them.',
    actions: ['ec2:RunInstances'],
    resources: (arn) => [arn.ec2('instance/*'), arn.ec2('volume/*')],
    condition: () => ({ StringEquals: { 'aws:RequestTag/gild:role': [...gildInstanceRoles] } }),
  },
  {
    sid: 'LaunchFromAnyImageInItsNetwork',
    accountRole: 'smoke',
    why: 'RunInstances also needs the AMI (public bases included), subnet, security group, key pair and network interface it uses.',
    actions: ['ec2:RunInstances'],
    resources: (arn) => [
      arn.ec2('image/*', { accountless: true }),
      arn.ec2('snapshot/*', { accountless: true }),
      arn.ec2('subnet/*'),
      arn.ec2('network-interface/*'),
      arn.ec2('security-group/*'),
      arn.ec2('key-pair/*'),
      arn.ec2('launch-template/*'),
    ],
  },
  {
    sid: 'TagWhatGildCreates',
    accountRole: 'all',
    why: 'CreateTags as part of a create call (TagSpecifications): only ever on the resource being created.',
    actions: ['ec2:CreateTags'],
    resources: (arn) => [...taggedAtCreation.map((type) => arn.ec2(`${type}/*`)), arn.ec2('image/*', { accountless: true }), arn.ec2('snapshot/*', { accountless: true })],
    condition: () => ({ StringEquals: { 'ec2:CreateAction': [...taggedCreateActions] } }),
  },
  {
    sid: 'RetagGildResources',
    accountRole: 'all',
    why: 'Status tags (gild:status, gild:version) on AMIs, snapshots and instances gild already tagged; the Deny below stops the tag that marks ownership from being moved.',
    actions: ['ec2:CreateTags', 'ec2:DeleteTags'],
    resources: (arn) => [arn.ec2('image/*', { accountless: true }), arn.ec2('snapshot/*', { accountless: true }), arn.ec2('instance/*'), arn.ec2('volume/*')],
    condition: () => taggedByGild,
  },
  {
    sid: 'TagImagesPackerJustMade',
    why: 'Packer 1.6.6 creates the AMI and its snapshots first and tags them in a separate call; only untagged AMIs and snapshots of this account, and only with a gild:image tag.',
    actions: ['ec2:CreateTags'],
    resources: (arn) => [arn.ec2('image/*', { accountless: true }), arn.ec2('snapshot/*', { accountless: true })],
    condition: () => ({ Null: { 'aws:ResourceTag/gild:image': 'true' }, StringLike: { 'aws:RequestTag/gild:image': '?*' } }),
  },
  {
    sid: 'FinishImagesPackerIsMaking',
    why: "Modern Packer's amazon plugin sets deprecate_at (EnableImageDeprecation) and imds_support (ModifyImageAttribute) before it tags the AMI gild:image; by then the AMI (and a copy, through CopyImageTags) carries only the run_tags. Only such AMIs: gild:role build and no gild:image yet. Packer 1.6.6 makes neither call.",
    actions: ['ec2:EnableImageDeprecation', 'ec2:ModifyImageAttribute'],
    resources: (arn) => [arn.ec2('image/*', { accountless: true })],
    condition: () => ({ StringEquals: { 'aws:ResourceTag/gild:role': 'build' }, Null: { 'aws:ResourceTag/gild:image': 'true' } }),
  },
  {
    sid: 'NeverMoveOwnership',
    accountRole: 'all',
    effect: 'Deny',
    why: 'A role that could rewrite gild:image could make any AMI "gild\'s" and then retire it, or hand one image\'s AMI to another.',
    actions: ['ec2:CreateTags', 'ec2:DeleteTags'],
    resources: () => ['*'],
    condition: () => ({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['gild:image'] }, Null: { 'aws:ResourceTag/gild:image': 'false' } }),
  },
  {
    sid: 'NeverMakeSnapshotsPublic',
    accountRole: 'all',
    effect: 'Deny',
    why: 'allowPublicImages is false: no snapshot may be shared with everyone (createVolumePermission group "all"), which ShareAndRetireOnlyGildImages would otherwise allow on any gild snapshot. (EC2 has no such key for an AMI\'s launch permission; AMI block public access is the account-level guard.)',
    when: (scope) => !scope.allowPublicImages,
    actions: ['ec2:ModifySnapshotAttribute'],
    resources: (arn) => [arn.ec2('snapshot/*', { accountless: true })],
    condition: () => ({ 'ForAnyValue:StringEquals': { 'ec2:Add/group': ['all'] } }),
  },
  {
    sid: 'BuildImagesFromGildInstances',
    why: 'Packer stops its build instance and images it; CreateImage needs the instance (tagged gild:role) and the new AMI and snapshots.',
    actions: ['ec2:CreateImage'],
    resources: (arn) => [arn.ec2('instance/*')],
    condition: () => taggedGildRole,
  },
  {
    sid: 'CreateAndCopyImages',
    accountRole: ['ec2:CopyImage'],
    why: 'The AMI and snapshots CreateImage and CopyImage make do not exist yet, so they cannot carry a tag to scope by.',
    actions: ['ec2:CreateImage', 'ec2:CopyImage'],
    resources: (arn) => [arn.ec2('image/*', { accountless: true }), arn.ec2('snapshot/*', { accountless: true })],
  },
  {
    sid: 'ControlGildInstances',
    // NOTE: the account role keeps those of `actions(scope)` it lists, so GetPasswordData is gated on scope.windows there too.
    accountRole: { smokeOnly: true, actions: ['ec2:TerminateInstances', 'ec2:GetPasswordData'] },
    why: 'Stop, modify, terminate (and read the Windows password of) only instances gild or Packer launched.',
    actions: (scope) => ['ec2:StopInstances', 'ec2:TerminateInstances', 'ec2:ModifyInstanceAttribute', ...(scope.windows ? ['ec2:GetPasswordData'] : [])],
    resources: (arn) => [arn.ec2('instance/*')],
    condition: () => taggedGildRole,
  },
  {
    sid: 'DeleteGildVolumes',
    why: 'Packer deletes volumes it launched with the build instance (run_volume_tags carry gild:role).',
    actions: ['ec2:DeleteVolume'],
    resources: (arn) => [arn.ec2('volume/*')],
    condition: () => taggedGildRole,
  },
  {
    sid: 'TemporaryKeyPairs',
    why: "gild names Packer's build key pair (temporary_key_pair_name gild_<runId>_<image>, which a definition cannot override) and sweeps leftovers by that name; other teams' packer_<uuid> key pairs are not gild's to delete.",
    actions: ['ec2:CreateKeyPair', 'ec2:DeleteKeyPair'],
    resources: (arn) => [arn.ec2('key-pair/gild_*')],
  },
  {
    sid: 'SmokeKeyPairsInAccounts',
    accountRole: 'smoke',
    when: (scope) => scope.role === 'account' && scope.windows,
    why: "A Windows copy smoke-tested in a distribution account launches with gild's temporary key pair (gild_<runId>-smoke_<image>, deleted when the smoke test ends), whose private key decrypts the password EC2Launch sets at first boot.",
    actions: ['ec2:CreateKeyPair', 'ec2:DeleteKeyPair'],
    resources: (arn) => [arn.ec2('key-pair/gild_*')],
  },
  {
    sid: 'CreateTemporarySecurityGroups',
    why: "gild creates a build's security group itself (Packer is handed it and creates none), tagged gild:role when it is created, so that opening and deleting it can be scoped to that tag.",
    actions: ['ec2:CreateSecurityGroup'],
    resources: (arn) => [arn.ec2('security-group/*')],
    condition: () => ({ StringEquals: { 'aws:RequestTag/gild:role': [...gildInstanceRoles] } }),
  },
  {
    sid: 'CreateSecurityGroupsInAnyVpc',
    why: 'Creating a security group also needs the VPC it goes in (the build infrastructure names it, or the default VPC).',
    actions: ['ec2:CreateSecurityGroup'],
    resources: (arn) => [arn.ec2('vpc/*')],
  },
  {
    sid: 'ChangeTemporarySecurityGroups',
    why: "Ingress and deletion only on the groups gild created and tagged gild:role: never another team's group (gild never revokes ingress: it deletes its group).",
    actions: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:DeleteSecurityGroup'],
    resources: (arn) => [arn.ec2('security-group/*')],
    condition: () => taggedGildRole,
  },
  {
    sid: 'ShareAndRetireOnlyGildImages',
    accountRole: ['ec2:EnableImageDeprecation', 'ec2:DisableImageDeprecation', 'ec2:DisableImage', 'ec2:EnableImage', 'ec2:DeregisterImage', 'ec2:DeleteSnapshot'],
    why: 'Launch permissions, deprecation, disabling, deregistration and snapshot deletion only on AMIs and snapshots tagged gild:image. gild shares an AMI itself, after tagging it and after its smoke test; Packer is never asked to share.',
    actions: [
      'ec2:ModifyImageAttribute',
      'ec2:ModifySnapshotAttribute',
      'ec2:ResetImageAttribute',
      'ec2:EnableImageDeprecation',
      'ec2:DisableImageDeprecation',
      'ec2:DisableImage',
      'ec2:EnableImage',
      // settings.protection: on what pointers name, removed by retirement right before it deregisters.
      'ec2:EnableImageDeregistrationProtection',
      'ec2:DisableImageDeregistrationProtection',
      'ec2:DeregisterImage',
      'ec2:DeleteSnapshot',
    ],
    resources: (arn) => [arn.ec2('image/*', { accountless: true }), arn.ec2('snapshot/*', { accountless: true })],
    condition: () => taggedByGild,
  },
  {
    sid: 'SpotBuilds',
    why: 'Packer builds on spot capacity through a temporary launch template and a fleet.',
    when: (scope) => scope.spot,
    actions: ['ec2:CreateLaunchTemplate', 'ec2:DeleteLaunchTemplate', 'ec2:CreateFleet', 'ec2:RequestSpotInstances', 'ec2:CancelSpotInstanceRequests'],
    resources: () => ['*'],
  },
  {
    sid: 'SmokeTestGildInstances',
    accountRole: 'smoke',
    why: 'Run Command only on instances tagged gild:role, and only the two shell documents the smoke test uses.',
    actions: ['ssm:SendCommand'],
    resources: (arn) => [arn.ec2('instance/*')],
    condition: () => ({ StringEquals: { 'ssm:resourceTag/gild:role': [...gildInstanceRoles] } }),
  },
  {
    sid: 'SmokeTestDocuments',
    accountRole: 'smoke',
    why: 'The documents half of SendCommand: AWS-owned documents have no account in their ARN.',
    actions: ['ssm:SendCommand'],
    resources: (arn) => smokeDocuments.map((document) => arn.ssm(`document/${document}`, { accountless: true })),
  },
  {
    sid: 'CancelSmokeCommands',
    accountRole: 'smoke',
    why: 'A check that times out is cancelled; CancelCommand supports no resource-level scoping.',
    actions: ['ssm:CancelCommand'],
    resources: () => ['*'],
  },
  {
    sid: 'PublishUnderThePrefix',
    accountRole: 'all',
    why: 'Version parameters, latest, channels and locks live only under the prefix.',
    actions: [
      'ssm:GetParameter',
      'ssm:GetParameters',
      'ssm:GetParametersByPath',
      'ssm:GetParameterHistory',
      'ssm:PutParameter',
      'ssm:LabelParameterVersion',
      'ssm:UnlabelParameterVersion',
      'ssm:DeleteParameter',
      'ssm:DeleteParameters',
      'ssm:AddTagsToResource',
      'ssm:ListTagsForResource',
    ],
    resources: (arn, scope) => [arn.ssm(`parameter${scope.ssmPrefix}`), arn.ssm(`parameter${scope.ssmPrefix}/*`)],
  },
  {
    sid: 'ResolveBaseImages',
    why: 'Bases resolve from AWS public parameters (and any other parameter an image names); read only.',
    actions: ['ssm:GetParameter', 'ssm:GetParameters'],
    resources: (arn, scope) => [arn.ssm('parameter/aws/service/*', { accountless: true }), ...scope.baseParameters.map((name) => arn.ssm(`parameter${name}`))],
  },
  {
    sid: 'StoreEvidence',
    why: "Each version's SBOM is stored under the evidence prefix and the previous version's read back (settings evidence); nothing else in the bucket.",
    when: (scope) => scope.evidence !== undefined,
    // The bucket's region (evidence.region) need not be one gild builds in; the ARN already names one prefix.
    global: true,
    actions: ['s3:GetObject', 's3:PutObject'],
    resources: (_arn, scope) => [`arn:aws:s3:::${scope.evidence!.bucket}/${scope.evidence!.prefix}/*`],
  },
  {
    sid: 'ListEvidence',
    why: 'Without ListBucket, S3 answers a read of an SBOM not yet stored with AccessDenied instead of NoSuchKey, and the first run of a version would fail; listing is limited to the evidence prefix.',
    when: (scope) => scope.evidence !== undefined,
    global: true,
    actions: ['s3:ListBucket'],
    resources: (_arn, scope) => [`arn:aws:s3:::${scope.evidence!.bucket}`],
    condition: (scope) => ({ StringLike: { 's3:prefix': [`${scope.evidence!.prefix}/*`] } }),
  },
  {
    sid: 'PassInstanceProfiles',
    accountRole: 'smoke',
    why: 'Build and smoke instances run with these profiles; their roles may be passed to EC2 and nowhere else.',
    when: (scope) => scope.instanceProfiles.length > 0,
    global: true,
    actions: ['iam:PassRole'],
    resources: (arn, scope) => scope.instanceProfiles.map((profile) => arn.iam(`role/${roleNameOfProfile(profile)}`)),
    condition: () => ({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } }),
  },
  {
    sid: 'ReadInstanceProfiles',
    why: 'Packer looks a named instance profile up before launching with it.',
    when: (scope) => scope.instanceProfiles.length > 0,
    global: true,
    actions: ['iam:GetInstanceProfile'],
    resources: (arn, scope) => scope.instanceProfiles.map((profile) => arn.iam(`instance-profile/${roleNameOfProfile(profile)}`)),
  },
  {
    sid: 'PackerTemporaryInstanceProfile',
    why: 'temporary_iam_instance_profile_policy_document: Packer creates role and profile packer-<uuid>, passes it, and deletes both.',
    when: (scope) => scope.temporaryInstanceProfile,
    global: true,
    actions: [
      'iam:CreateRole',
      'iam:DeleteRole',
      'iam:PutRolePolicy',
      'iam:DeleteRolePolicy',
      'iam:GetRole',
      'iam:PassRole',
      'iam:CreateInstanceProfile',
      'iam:DeleteInstanceProfile',
      'iam:GetInstanceProfile',
      'iam:AddRoleToInstanceProfile',
      'iam:RemoveRoleFromInstanceProfile',
    ],
    resources: (arn) => [arn.iam('role/packer-*'), arn.iam('instance-profile/packer-*')],
  },
  {
    sid: 'SessionManagerToBuildInstances',
    why: 'ssh_interface = "session_manager": Packer tunnels SSH through a port-forwarding session to its build instance.',
    when: (scope) => scope.sessionManager,
    actions: ['ssm:StartSession'],
    resources: (arn) => [arn.ec2('instance/*')],
    condition: () => ({ StringEquals: { 'ssm:resourceTag/gild:role': 'build' } }),
  },
  {
    sid: 'SessionManagerDocument',
    why: 'The port-forwarding document Packer starts its session with.',
    when: (scope) => scope.sessionManager,
    actions: ['ssm:StartSession'],
    resources: (arn) => [arn.ssm('document/AWS-StartPortForwardingSession', { accountless: true })],
  },
  {
    sid: 'SessionManagerOwnSessions',
    why: 'Resume and end only sessions this role started (their IDs start with the caller name).',
    when: (scope) => scope.sessionManager,
    actions: ['ssm:TerminateSession', 'ssm:ResumeSession'],
    resources: (arn) => [arn.ssm('session/${aws:userid}-*')],
  },
  {
    sid: 'EncryptWithImageKeys',
    accountRole: 'all',
    why: "Encrypted AMIs and copies: EC2 uses the keys on the role's behalf, and only through EC2.",
    when: (scope) => scope.kmsKeys.length > 0,
    actions: ['kms:DescribeKey', 'kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:CreateGrant'],
    // Aliases and bare key IDs cannot name a key in a Resource; only full key ARNs can.
    resources: (_arn, scope) => (scope.kmsKeys.every((key) => /^arn:aws[a-z-]*:kms:[^:]+:\d{12}:key\//.test(key)) ? [...scope.kmsKeys] : ['*']),
    condition: (scope) => ({
      StringLike: { 'kms:ViaService': scope.regions.length > 0 ? scope.regions.map((region) => `ec2.${region}.amazonaws.com`) : ['ec2.*.amazonaws.com'] },
    }),
  },
  {
    sid: 'NotifyTopics',
    why: 'Tell people (settings notify.sns and notify.images): publish to the configured topics, and to no other.',
    when: (scope) => (scope.notify?.topics.length ?? 0) > 0,
    // A topic's ARN names its region, which need not be one gild builds in.
    global: true,
    actions: ['sns:Publish'],
    resources: (_arn, scope) => [...scope.notify!.topics],
  },
  {
    sid: 'NotifyEventBus',
    why: "Tell people (settings notify.eventBridge): put gild's events on the configured bus, only with gild's source and detail-types.",
    when: (scope) => (scope.notify?.buses.length ?? 0) > 0,
    global: true,
    actions: ['events:PutEvents'],
    resources: (_arn, scope) => [...scope.notify!.buses],
    // NOTE: both keys are multivalued (one value per entry of the request): every entry must be gild's, and a request
    // naming no source at all (ForAllValues holds over an empty set) is not let through by the Null check.
    condition: (scope) => ({
      'ForAllValues:StringEquals': { 'events:source': [scope.notify!.source ?? 'gild'] },
      'ForAllValues:StringLike': { 'events:detail-type': ['gild.image.*'] },
      Null: { 'events:source': 'false', 'events:detail-type': 'false' },
    }),
  },
  {
    sid: 'AssumeDistributionRoles',
    why: 'Copying and sharing in distribution accounts happens as a role there.',
    when: (scope) => scope.distributionRoleArns.length > 0,
    global: true,
    actions: ['sts:AssumeRole'],
    resources: (_arn, scope) => [...scope.distributionRoleArns],
  },
];

function mergeConditions(left: PolicyStatement['Condition'] | undefined, right: PolicyStatement['Condition'] | undefined): PolicyStatement['Condition'] | undefined {
  if (!left) return right;
  if (!right) return left;
  const merged: Record<string, Record<string, string | readonly string[]>> = {};
  for (const condition of [left, right]) {
    for (const [operator, keys] of Object.entries(condition)) merged[operator] = { ...merged[operator], ...keys };
  }
  return merged;
}

export function generatePolicy(scope: PolicyScope): PolicyDocument {
  const arns = arnsFor(scope);
  const regionCondition = scope.regions.length > 0 ? { StringEquals: { 'aws:RequestedRegion': [...scope.regions] } } : undefined;
  const statements: PolicyStatement[] = [];
  const forAccount = scope.role === 'account';
  for (const grant of grants) {
    if (grant.when && !grant.when(scope)) continue;
    const share = grant.accountRole;
    if (forAccount && (!share || ((share === 'smoke' || (typeof share === 'object' && 'smokeOnly' in share)) && !scope.accountSmoke))) continue;
    const granted = typeof grant.actions === 'function' ? grant.actions(scope) : grant.actions;
    const only = !forAccount || typeof share !== 'object' ? undefined : 'actions' in share ? share.actions : share;
    const actions = only ? granted.filter((action) => only.includes(action)) : granted;
    // NOTE: a Deny stays unconditional on region: it must hold everywhere.
    const condition = mergeConditions(grant.condition?.(scope), grant.global || grant.effect === 'Deny' ? undefined : regionCondition);
    statements.push({
      Sid: grant.sid,
      Effect: grant.effect ?? 'Allow',
      Action: [...actions],
      Resource: [...new Set(grant.resources(arns, scope))],
      ...(condition ? { Condition: condition } : {}),
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** Why each statement exists, by Sid, for `gild iam-policy` and docs/iam.md. */
export function describeGrants(): ReadonlyArray<{ sid: string; why: string }> {
  return grants.map((grant) => ({ sid: grant.sid, why: grant.why }));
}

function isSpot(image: ResolvedImage): boolean {
  return ['spot_price', 'spot_instance_types', 'spot_tags'].some((key) => key in image.packerSource);
}

/** The scope the project's settings and images need. */
export function scopeFromProject(settings: PipelineSettings, images: readonly ResolvedImage[], extra: { distributionRoleArns?: readonly string[] } = {}): PolicyScope {
  const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
  return {
    ssmPrefix: settings.ssmPrefix,
    regions: sorted(settings.regions ?? images.flatMap((image) => image.regions)),
    accountId: settings.accountId ?? '*',
    kmsKeys: sorted(
      images.flatMap((image) => [
        ...(image.encryption ? [image.encryption.kmsKeyId, ...Object.values(image.encryption.regionKmsKeyIds)] : []),
        ...[...image.launchBlockDevices, ...image.amiBlockDevices].flatMap((device) => (device.kmsKeyId ? [device.kmsKeyId] : [])),
      ]),
    ),
    instanceProfiles: sorted(images.flatMap((image) => [image.smoke.instanceProfile, image.buildInfrastructure.instanceProfile].filter((name): name is string => !!name))),
    temporaryInstanceProfile: images.some((image) => image.buildInfrastructure.temporaryInstanceProfile),
    sessionManager: images.some((image) => image.buildInfrastructure.sessionManager),
    spot: images.some(isSpot),
    windows: images.some((image) => image.platform === 'windows'),
    baseParameters: sorted(images.flatMap((image) => (image.base.kind === 'ssm' && !image.base.parameter.startsWith('/aws/service/') ? [image.base.parameter] : []))),
    // The definitions name their distribution roles; `--assume-role` adds roles gild is not yet told about.
    distributionRoleArns: sorted([...images.flatMap((image) => image.distribution.map((target) => target.roleArn)), ...(extra.distributionRoleArns ?? [])]),
    allowPublicImages: settings.allowPublicImages,
    ...(settings.evidence ? { evidence: { bucket: settings.evidence.bucket, prefix: settings.evidence.prefix } } : {}),
    ...(settings.notify ? { notify: notifyScope(settings.notify, settings.accountId ?? '*', images) } : {}),
  };
}

/** The topics and buses `notify` names; a bus given by name is in the publishing account, in its region or the images' build regions. */
function notifyScope(notify: NonNullable<PipelineSettings['notify']>, accountId: string, images: readonly ResolvedImage[]): NonNullable<PolicyScope['notify']> {
  const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
  const bus = notify.eventBridge;
  const busRegions = bus?.region ? [bus.region] : sorted(images.map((image) => image.buildRegion));
  return {
    topics: sorted([...notify.sns, ...Object.values(notify.images).flatMap((own) => own.sns)]),
    buses: !bus ? [] : bus.bus.startsWith('arn:') ? [bus.bus] : (busRegions.length > 0 ? busRegions : ['*']).map((region) => `arn:aws:events:${region}:${accountId}:event-bus/${bus.bus}`),
    source: bus?.source,
  };
}

/**
 * The scope of the role gild assumes in the distribution accounts (`gild iam-policy --account-role`): one policy for
 * every account's role, scoped to the regions, keys and smoke profiles the targets name. The account in its ARNs is
 * `*`: a role acts only in its own account for these calls anyway.
 */
export function accountRoleScopeFromProject(settings: PipelineSettings, images: readonly ResolvedImage[]): PolicyScope {
  const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
  const targets = images.flatMap((image) => image.distribution);
  // `smoke: true` launches with the image's own smoke profile, which must then exist in the account too.
  const smokeProfiles = images.flatMap((image) =>
    image.distribution.flatMap((target) =>
      target.smoke === false ? [] : [(typeof target.smoke === 'object' ? target.smoke.instanceProfile : undefined) ?? image.smoke.instanceProfile].filter((name): name is string => !!name),
    ),
  );
  return {
    ssmPrefix: settings.ssmPrefix,
    regions: sorted(targets.flatMap((target) => target.regions)),
    accountId: '*',
    kmsKeys: sorted(targets.flatMap((target) => (target.kmsKeyId ? [target.kmsKeyId] : []))),
    instanceProfiles: sorted(smokeProfiles),
    temporaryInstanceProfile: false,
    sessionManager: false,
    spot: false,
    // A Windows copy smoke-tested there reads its password (GetPasswordData) with a temporary key pair.
    windows: images.some((image) => image.platform === 'windows' && image.distribution.some((target) => target.smoke !== false)),
    baseParameters: [],
    distributionRoleArns: [],
    allowPublicImages: settings.allowPublicImages,
    role: 'account',
    accountSmoke: targets.some((target) => target.smoke !== false),
  };
}
