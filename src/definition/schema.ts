/**
 * Pass one of validation: the shape of an image definition. Cross-field rules
 * (architecture vs instance type, encryption keys per copy region, public
 * sharing, dependencies between images) live in `rules.ts`, pass two.
 *
 * NOTE: the schema is the single source of the `ImageDefinition` type that
 * authors write, so the type and the run-time check can never drift apart.
 */
import semver from 'semver';
import { z } from 'zod';
import { describeUnknownRegion, isKnownRegion, closestMatch } from './aws-regions.ts';
import { imageNamePattern } from './image-name.ts';
import { findPreset, osPresetNames } from './presets.ts';
import { ec2TagsPerResource, gildAmiTagKeys } from '../stages/gild-tag-keys.ts';

export { imageNamePattern };

const semverPattern = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const amiIdPattern = /^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
export const accountIdPattern = /^\d{12}$/;
/** A Go duration as Packer reads it: "30s", "5m", "1h30m". */
export const durationPattern = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
/**
 * AWS allows 50 tags per resource, and over an AMI's life gild writes up to `gildAmiTagKeys.length` of its own
 * (src/stages/gild-tag-keys.ts: Name, the build's, the smoke verdict's, publish's, revoke's, retirement's, restore's):
 * an image with more than the rest would publish, then fail its revoke or retirement with TagLimitExceeded.
 */
export const maxUserTags = ec2TagsPerResource - gildAmiTagKeys.length;
/** How many tags gild itself may add to an AMI (see maxUserTags). */
export const gildTagCount = gildAmiTagKeys.length;
/** Why an image may carry only maxUserTags tags, in words an author can act on. */
export const tagBudgetReason = `AWS allows ${ec2TagsPerResource} per image and gild reserves ${gildTagCount} for the tags it writes over the image's life (Name, gild:status, gild:published-at, gild:revoked-*, gild:retired-at, gild:restored-*, …), so an image can carry at most ${maxUserTags}`;
const kmsKeyPattern =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias\/[A-Za-z0-9/_-]+|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/(?:[0-9a-f-]{36}|mrk-[0-9a-f]{32})|alias\/[A-Za-z0-9/_-]+))$/;

const imageName = z
  .string()
  .regex(imageNamePattern, 'must be kebab-case: lower-case letters, digits and single hyphens, starting with a letter (e.g. "web-base")')
  .max(64, 'must be at most 64 characters')
  // NOTE: gild keeps images in maps by name; a name JavaScript objects already have would collide.
  .refine((name) => !(name in Object.prototype), 'is a name JavaScript reserves on every object (like "constructor"). Choose another name');

/** A known AWS region; an unknown one gets a "did you mean" from the list in aws-regions.ts. */
export const region = z.string().superRefine((value, context) => {
  if (!isKnownRegion(value)) context.addIssue({ code: 'custom', message: describeUnknownRegion(value) });
});

export const amiId = z.string().regex(amiIdPattern, 'is not an AMI ID (e.g. "ami-0123456789abcdef0")');

const duration = z.string().regex(durationPattern, 'is not a duration. Write a number with a unit: "30s", "5m" or "1h30m"');

const idOf = (prefix: string, example: string) =>
  z.string().regex(new RegExp(`^${prefix}-[0-9a-f]{8}(?:[0-9a-f]{9})?$`), `is not a ${prefix === 'sg' ? 'security group' : prefix === 'vpc' ? 'VPC' : 'subnet'} ID (e.g. "${example}")`);
const subnetId = idOf('subnet', 'subnet-0123456789abcdef0');
const vpcId = idOf('vpc', 'vpc-0123456789abcdef0');
const securityGroupId = idOf('sg', 'sg-0123456789abcdef0');

export const kmsKeyId = z.string().regex(kmsKeyPattern, 'is not a KMS key (a key ID, "alias/name", or a key or alias ARN)');

const tagMap = z
  .record(
    z
      .string()
      .min(1, 'tag keys must not be empty')
      .max(128, 'tag keys are at most 128 characters')
      .refine((key) => !key.toLowerCase().startsWith('aws:'), 'tag keys starting with "aws:" are reserved by AWS'),
    // NOTE: EC2 allows any character in tags (other services restrict the charset),
    // so values with quotes, newlines or `${` are legal and the renderer escapes them.
    z.string().max(256, 'tag values are at most 256 characters'),
  )
  .refine((tags) => Object.keys(tags).length <= maxUserTags, {
    message: `has too many tags: ${tagBudgetReason}. Remove some, or combine them`,
  });

const environment = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'is not a valid environment variable name'), z.string());

const presetName = z.string().superRefine((value, context) => {
  if (findPreset(value)) return;
  const suggestion = closestMatch(value, osPresetNames);
  context.addIssue({ code: 'custom', message: `is not an OS preset.${suggestion ? ` Did you mean "${suggestion}"?` : ''} Presets: ${osPresetNames.join(', ')}` });
});

/**
 * How long a retiring version stays in one phase before the next. A phase that is left out is skipped: with no
 * phases at all (the default), an unreferenced version beyond retention is deregistered in the run that retires it.
 */
// NOTE: zod reports `.int()` as an invalid type ("should be int"); a refinement says it in the author's words.
const wholeNumber = (unit: string) => z.number().refine(Number.isInteger, `must be a whole number of ${unit}`);

const retirementPhase = z.strictObject({
  graceDays: wholeNumber('days').min(0, 'must be 0 or more days. Use 0 to move on at the next run'),
});

/**
 * Which published versions to keep, per image with defaults in the pipeline settings. Retirement goes deprecate →
 * disable → deregister; each phase is stamped on the AMI and the next waits for its grace period.
 */
export const retentionFields = {
  /** The newest N versions are kept. */
  keep: wholeNumber('versions').min(1, 'must keep at least 1 version'),
  /** Older versions are retired even within `keep`. */
  maxAgeDays: wholeNumber('days').positive('must be 1 or more days. Leave it out to retire by count only'),
  /** Younger versions are never retired, whatever `keep` and `maxAgeDays` say. */
  minAgeDays: wholeNumber('days').min(0, 'must be 0 or more days'),
  /** An AMI shared with other accounts (whose use gild cannot see) is kept until it is this many days old; 0: not held. */
  keepShared: wholeNumber('days').min(0, 'must be 0 or more days'),
  phases: z.strictObject({ deprecate: retirementPhase.optional(), disable: retirementPhase.optional() }),
  /** A revoked version's AMIs are kept (deprecated, or disabled with `revoke --disable`) this long, to be inspected or restored. */
  keepRevokedDays: wholeNumber('days').min(0, 'must be 0 or more days'),
};

export const defaultKeepRevokedDays = 30;

/** A `minAgeDays` above `maxAgeDays` would keep what `maxAgeDays` asks to retire: say so where both are written. */
function checkRetentionAges(retention: { minAgeDays?: number | undefined; maxAgeDays?: number | undefined }, context: z.core.$RefinementCtx): void {
  const { minAgeDays, maxAgeDays } = retention;
  if (minAgeDays === undefined || maxAgeDays === undefined || minAgeDays <= maxAgeDays) return;
  context.addIssue({
    code: 'custom',
    path: ['minAgeDays'],
    input: minAgeDays,
    message: `is more than maxAgeDays (${maxAgeDays}), so versions between ${maxAgeDays} and ${minAgeDays} days old would be both too old and too young. Lower minAgeDays or raise maxAgeDays`,
  });
}

/** Per image: every field optional; what is left out comes from the settings' `retention` (`phases` as a whole). */
export const imageRetentionSchema = z
  .strictObject({
    keep: retentionFields.keep.optional(),
    maxAgeDays: retentionFields.maxAgeDays.optional(),
    minAgeDays: retentionFields.minAgeDays.optional(),
    keepShared: retentionFields.keepShared.optional(),
    phases: retentionFields.phases.optional(),
    keepRevokedDays: retentionFields.keepRevokedDays.optional(),
  })
  .superRefine(checkRetentionAges);

/** The organisation's defaults (`pipeline/settings.ts`). Shipped: keep 3, no age limits, no grace periods. */
export const retentionSettingsSchema = z
  .strictObject({
    keep: retentionFields.keep.default(3),
    maxAgeDays: retentionFields.maxAgeDays.optional(),
    minAgeDays: retentionFields.minAgeDays.default(0),
    keepShared: retentionFields.keepShared.optional(),
    phases: retentionFields.phases.default({}),
    keepRevokedDays: retentionFields.keepRevokedDays.default(defaultKeepRevokedDays),
  })
  .superRefine(checkRetentionAges);

export type ImageRetention = z.output<typeof imageRetentionSchema>;
export type RetentionSettings = z.output<typeof retentionSettingsSchema>;

/** What one image retires by: the image's own fields over the settings' defaults (the settings' shape, resolved). */
export type RetentionPolicy = Readonly<Omit<RetentionSettings, 'keepRevokedDays'>> & { readonly keepRevokedDays?: number };

export function resolveRetention(image: ImageRetention | undefined, defaults: RetentionSettings): RetentionPolicy {
  return {
    keep: image?.keep ?? defaults.keep,
    maxAgeDays: image?.maxAgeDays ?? defaults.maxAgeDays,
    minAgeDays: image?.minAgeDays ?? defaults.minAgeDays,
    keepShared: image?.keepShared ?? defaults.keepShared,
    phases: image?.phases ?? defaults.phases,
    keepRevokedDays: image?.keepRevokedDays ?? defaults.keepRevokedDays,
  };
}

const semverRange = z.string().refine((range) => semver.validRange(range) !== null, 'is not a semver range. Use one such as "^1", "~1.4" or ">=1.2.0 <2"');

export const baseSchema = z.union([
  z.strictObject({
    ssmParameter: z.string().regex(/^\/[A-Za-z0-9_.\-/]+$/, 'must be an SSM parameter path starting with "/" (e.g. "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")'),
  }),
  z.strictObject({
    filter: z.strictObject({
      owners: z
        .array(z.string().regex(/^(?:\d{12}|amazon|self|aws-marketplace)$/, 'is not an owner. Use a 12-digit account ID, "amazon", "self" or "aws-marketplace"'))
        .min(1, 'needs at least one owner (an account ID, "amazon", "self" or "aws-marketplace")'),
      name: z.string().min(1, 'must not be empty: give an AMI name pattern such as "my-base-*"'),
      includeDeprecated: z.boolean().default(false),
    }),
  }),
  z.strictObject({ ami: z.union([amiId, z.record(region, amiId)]) }),
  z.strictObject({ image: imageName, range: semverRange.optional() }),
  z.strictObject({ preset: presetName }),
]);

/** Relative to the definition's folder: an absolute path would take a file of whichever host builds. */
const relativePath = z
  .string()
  .min(1)
  .refine((value) => !value.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(value) && !value.startsWith('\\'), "must be a path relative to the definition's folder, not an absolute path");

const inlineCommands = z.union([z.string().min(1, 'must not be empty'), z.array(z.string()).min(1, 'needs at least one command')]);

export const provisionStepSchema = z.union([
  z.strictObject({ shell: inlineCommands, env: environment.optional(), expectDisconnect: z.boolean().optional(), pauseBefore: duration.optional() }),
  z.strictObject({ script: relativePath, env: environment.optional(), expectDisconnect: z.boolean().optional(), pauseBefore: duration.optional() }),
  z.strictObject({ upload: z.strictObject({ source: relativePath, destination: z.string().min(1) }), pauseBefore: duration.optional() }),
  z.strictObject({ powershell: inlineCommands, env: environment.optional(), pauseBefore: duration.optional() }),
  z.strictObject({ restart: z.union([z.literal(true), z.strictObject({ timeout: duration.optional() })]), pauseBefore: duration.optional() }),
]);
const provisionStep = provisionStepSchema;

/**
 * Unions whose branches are told apart by which key is present. format-issues
 * uses this to say "give exactly one of …; found … and …" instead of guessing
 * a branch. `branches` are in the same order as the union's options.
 */
export const keyedUnions: readonly { readonly path: RegExp; readonly branches: readonly (readonly string[])[] }[] = [
  { path: /^base$/, branches: [['ssmParameter'], ['filter'], ['ami'], ['image', 'range'], ['preset']] },
  { path: /^provision\[\d+\]$/, branches: [['shell'], ['script'], ['upload'], ['powershell'], ['restart']] },
  {
    path: /^launchPermissions$/,
    branches: [
      ['public', 'reason'],
      ['accounts', 'organizationArns', 'organizationalUnitArns'],
    ],
  },
];

const pattern = z.union([z.string(), z.instanceof(RegExp)]);

/**
 * The longest a smoke check may run: AWS-RunShellScript's and AWS-RunPowerShellScript's `executionTimeout`, which a
 * check's timeout is sent as, allows 1 to 172800 seconds (its allowedPattern); SSM refuses the SendCommand past that.
 */
export const maxCheckTimeoutSeconds = 172_800;
/** A check's timeout, or the smoke test's as a whole (which no check outlasts), in whole seconds. */
export const smokeTimeoutSeconds = z
  .number()
  .int()
  .positive()
  .max(
    maxCheckTimeoutSeconds,
    `is more than 172800 seconds (48 hours), the most AWS-RunShellScript and AWS-RunPowerShellScript let a command run (their executionTimeout). Lower it to 172800 or less`,
  );

export const smokeCheckSchema = z.strictObject({
  name: z.string().min(1),
  run: z.union([z.string(), z.array(z.string()).min(1)]),
  expectExitCode: z.number().int().default(0),
  stdoutMatches: z.array(pattern).optional(),
  stdoutNotMatches: z.array(pattern).optional(),
  stderrMatches: z.array(pattern).optional(),
  stderrNotMatches: z.array(pattern).optional(),
  timeoutSeconds: smokeTimeoutSeconds.optional(),
  /** `vm`: the check needs a virtual machine (systemd as PID 1, kernel modules, cloud-init, IMDS); in a container twin it is skipped, never passed. */
  needs: z.literal('vm').optional(),
});

/**
 * What the generalize step clears on Linux, in the order it runs (see src/render/generalize.ts). Each can be kept
 * with a reason; `authorized-keys` is Packer's own ssh_clear_authorized_keys, which runs after the last provisioner.
 */
export const linuxGeneralizeItems = ['package-caches', 'cloud-init', 'ssh-host-keys', 'machine-id', 'logs', 'shell-history', 'temp-files', 'authorized-keys'] as const;
export type LinuxGeneralizeItem = (typeof linuxGeneralizeItems)[number];

/**
 * `generalize` left out (or `true`): everything is cleared. `{ keep: [...], reason }` keeps items; `{ enabled: false, reason }`
 * turns the step off. Reasons are required by rules.ts (a bare `false` is refused there, with the form to write).
 */
// NOTE: a boolean branch, not literal(false): an object then fails it by type, so messages come from the object branch.
export const generalizeSchema = z.union([
  z.boolean(),
  z.strictObject({
    enabled: z.boolean().default(true),
    keep: z.array(z.enum(linuxGeneralizeItems)).default([]),
    reason: z.string().optional(),
  }),
]);

const instanceType = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/, 'is not an EC2 instance type (e.g. "t3.micro")');

export const smokeSettingsSchema = z.strictObject({
  instanceTypes: z.array(instanceType).min(1).optional(),
  subnetId: subnetId.optional(),
  securityGroupIds: z.array(securityGroupId).optional(),
  instanceProfile: z.string().optional(),
  userData: z.string().optional(),
  checkTimeoutSeconds: smokeTimeoutSeconds.optional(),
  timeoutSeconds: smokeTimeoutSeconds.optional(),
});

const smokeSchema = smokeSettingsSchema.extend({
  checks: z.array(smokeCheckSchema).default([]),
  onFailure: z.enum(['deregister', 'keep']).default('deregister'),
  packageManifest: z.boolean().default(true),
  /**
   * Where the image is launched before it is published: `build`, its build region only (the copies are published
   * without being launched), or `all`: every region it is published in, the copies too, in parallel, before anything
   * is published (each region's test waits for that region's copy).
   */
  regions: z.enum(['build', 'all']).default('build'),
});

const volumeType = z.enum(['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard']);

export const blockDeviceSchema = z.strictObject({
  deviceName: z.string().regex(/^\/dev\/[a-z0-9]+$|^xvd[a-z]+$/, 'is not a device name (e.g. "/dev/xvda")'),
  sizeGiB: z.number().int().positive().optional(),
  type: volumeType.default('gp3'),
  iops: z.number().int().positive().optional(),
  throughput: z.number().int().positive().optional(),
  encrypted: z.boolean().optional(),
  kmsKeyId: kmsKeyId.optional(),
  deleteOnTermination: z.boolean().default(true),
  snapshotId: z.string().optional(),
});

const launchPermissionsSchema = z.union([
  z.strictObject({ public: z.literal(true), reason: z.string().optional() }),
  z.strictObject({
    accounts: z.array(z.string().regex(accountIdPattern, "is not a 12-digit AWS account ID. Use the account's 12-digit ID")).default([]),
    organizationArns: z
      .array(z.string().regex(/^arn:aws[a-z-]*:organizations::\d{12}:organization\/o-[a-z0-9]{10,32}$/, 'is not an organization ARN (arn:aws:organizations::123456789012:organization/o-abcdefghij)'))
      .default([]),
    organizationalUnitArns: z
      .array(
        z
          .string()
          .regex(
            /^arn:aws[a-z-]*:organizations::\d{12}:ou\/o-[a-z0-9]{10,32}\/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/,
            'is not an organizational unit ARN (arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34)',
          ),
      )
      .default([]),
  }),
]);

/** `arn:aws:iam::<account>:role/<path/name>`: the role gild assumes in a distribution account. */
export const roleArnPattern = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

/**
 * One account that gets its own copy of every published version: gild assumes `roleArn`, copies the AMI into the
 * account in each of `regions` (so the account owns it, independent of the building account), and writes the same
 * parameters there. Cross-field rules (role in the account, regions of the image, duplicates) are in rules.ts.
 */
export const distributionAccountSchema = z.strictObject({
  account: z.string().regex(accountIdPattern, "is not a 12-digit AWS account ID. Use the target account's 12-digit ID"),
  roleArn: z.string().regex(roleArnPattern, 'is not an IAM role ARN. Use the role gild assumes in that account, e.g. "arn:aws:iam::210987654321:role/gild-distribution"'),
  regions: z.array(region).min(1, 'needs at least one region to copy the AMI into (the build region or one of regions.copies)'),
  /** The target account's key: the copies are encrypted with it. Left out, a copy is encrypted as its source is. */
  kmsKeyId: kmsKeyId.optional(),
  /**
   * Smoke-test the copy in that account (in its first region) before its parameters are written there, with the
   * image's checks: `true`, or where to launch the test instance in that account (the building account's subnet,
   * groups and instance profile do not exist there).
   */
  smoke: z
    .union([
      z.boolean(),
      z.strictObject({
        subnetId: subnetId.optional(),
        securityGroupIds: z.array(securityGroupId).optional(),
        instanceProfile: z.string().min(1).optional(),
        /** `all`: the copy is launched in every region of the account, in parallel; `first`: its first region only. Left out, as the image's `smoke.regions` says. */
        regions: z.enum(['first', 'all']).optional(),
      }),
    ])
    .default(false),
});

export const imageDefinitionSchema = z.strictObject({
  name: imageName,
  description: z.string().min(1, 'must not be empty: say what the image is for').max(255, 'is longer than the 255 characters AWS allows for an AMI description. Shorten it'),
  version: z
    .string()
    .regex(semverPattern, 'must be a semantic version x.y.z (e.g. "1.0.0")')
    .refine(
      (version) => !semverPattern.test(version) || version.split('.').every((part) => Number(part) <= Number.MAX_SAFE_INTEGER),
      `has a number above ${Number.MAX_SAFE_INTEGER}, which versions cannot be compared or bumped past exactly. Use smaller numbers`,
    )
    // The example a wrong-type message shows (format-issues.ts).
    .meta({ examples: ['1.0.0'] }),
  /** Defaults to the preset's platform, else linux. */
  platform: z.enum(['linux', 'windows']).optional(),
  architecture: z.enum(['x86_64', 'arm64']).default('x86_64'),
  base: baseSchema,
  instanceType,
  regions: z.strictObject({ build: region, copies: z.array(region).default([]) }),
  provision: z.array(provisionStep).default([]),
  /** gild's generalize step, always the last provisioner: see generalizeSchema. */
  generalize: generalizeSchema.optional(),
  /** Run the OS's update command before the provisioning; defaults to true where the preset has a package manager. */
  patch: z.boolean().optional(),
  smoke: smokeSchema.default({ checks: [], onFailure: 'deregister', packageManifest: true, regions: 'build' }),
  tags: tagMap.default({}),
  launchPermissions: launchPermissionsSchema.default({ accounts: [], organizationArns: [], organizationalUnitArns: [] }),
  blockDevices: z.strictObject({ launch: z.array(blockDeviceSchema).default([]), ami: z.array(blockDeviceSchema).default([]) }).default({ launch: [], ami: [] }),
  encryption: z.strictObject({ kmsKeyId, regionKmsKeyIds: z.record(region, kmsKeyId).default({}) }).optional(),
  /** AWS accepts a deprecation date at most 10 years ahead. */
  deprecateAfterDays: z.number().int().positive().max(3650, 'must be at most 3650 (10 years): AWS refuses a deprecation date further ahead').optional(),
  buildInfrastructure: z
    .strictObject({
      subnetId: subnetId.optional(),
      vpcId: vpcId.optional(),
      subnetFilter: z.record(z.string().min(1), z.string().min(1)).optional(),
      securityGroupIds: z.array(securityGroupId).optional(),
      instanceProfile: z.string().optional(),
      temporaryInstanceProfile: z.boolean().optional(),
      sessionManager: z.boolean().default(false),
      requireImdsV2: z.boolean().default(true),
      sshUsername: z.string().optional(),
    })
    .default({ sessionManager: false, requireImdsV2: true }),
  retention: imageRetentionSchema.optional(),
  /** Owned copies in other accounts, made after every publish in the building account. */
  distribution: z.strictObject({ accounts: z.array(distributionAccountSchema).default([]) }).default({ accounts: [] }),
  /** A file in templates/ that replaces gild's Packer template. */
  template: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/, 'must be a file name inside templates/ (e.g. "hardened.pkr.hcl.hbs"), without ".." or a leading "/"')
    .refine((name) => !name.split('/').includes('..'), 'must stay inside templates/')
    .optional(),
  /** templates/partials/<partial>.pkr.hcl.hbs, rendered inside gild's template. */
  partial: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a partial name: the file templates/partials/<name>.pkr.hcl.hbs, without the extension')
    .optional(),
  packerSource: z.record(z.string(), z.unknown()).optional(),
  /** The container image the image's twin starts from (docs/emulator.md "Container twins"); defaults to the OS preset's. */
  containerImage: z
    .string()
    .min(1)
    .regex(/^[a-z0-9][a-z0-9._/:@-]*$/, 'is not a container image reference (e.g. "debian:12")')
    .optional(),
});

/** What authors write: every field with a default is optional. */
export type ImageDefinition = z.input<typeof imageDefinitionSchema>;
/** The shape after pass one, defaults applied, before resolution. */
export type ParsedImageDefinition = z.output<typeof imageDefinitionSchema>;
export type SmokeCheck = z.output<typeof smokeCheckSchema>;
export type DistributionAccount = z.output<typeof distributionAccountSchema>;
export type BlockDevice = z.output<typeof blockDeviceSchema>;
export type ProvisionStepDefinition = z.output<typeof provisionStep>;
