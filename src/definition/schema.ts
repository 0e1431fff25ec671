/**
 * Pass one of validation: the shape of an image definition. Cross-field rules
 * (architecture vs instance type, encryption keys per copy region, public
 * sharing, dependencies between images) live in `rules.ts`, pass two.
 *
 * NOTE: the schema is the single source of the `ImageDefinition` type that
 * authors write, so the type and the run-time check can never drift apart.
 */
import { z } from 'zod';

export const imageNamePattern = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const semverPattern = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const amiIdPattern = /^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
const accountIdPattern = /^\d{12}$/;

const imageName = z
  .string()
  .regex(imageNamePattern, 'must be kebab-case: lower-case letters, digits and single hyphens, starting with a letter (e.g. "web-base")')
  .max(64, 'must be at most 64 characters');

const region = z.string().regex(/^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'is not an AWS region name (e.g. "us-east-1")');

export const amiId = z.string().regex(amiIdPattern, 'is not an AMI ID (e.g. "ami-0123456789abcdef0")');

const tagMap = z.record(
  z.string().min(1, 'tag keys must not be empty').max(128, 'tag keys are at most 128 characters').refine((key) => !key.toLowerCase().startsWith('aws:'), 'tag keys starting with "aws:" are reserved by AWS'),
  z.string().max(256, 'tag values are at most 256 characters'),
);

const environment = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'is not a valid environment variable name'), z.string());

export const baseSchema = z.union([
  z.strictObject({ ssmParameter: z.string().regex(/^\//, 'must be an SSM parameter path starting with "/"') }),
  z.strictObject({
    filter: z.strictObject({
      owners: z.array(z.string().min(1)).min(1, 'needs at least one owner (an account ID, "amazon", "self" or "aws-marketplace")'),
      name: z.string().min(1),
      includeDeprecated: z.boolean().default(false),
    }),
  }),
  z.strictObject({ ami: z.union([amiId, z.record(region, amiId)]) }),
  z.strictObject({ image: imageName, range: z.string().optional() }),
  z.strictObject({ preset: z.string() }),
]);

const provisionStep = z.union([
  z.strictObject({ shell: z.union([z.string(), z.array(z.string()).min(1)]), env: environment.optional(), expectDisconnect: z.boolean().optional(), pauseBefore: z.string().optional() }),
  z.strictObject({ script: z.string().min(1), env: environment.optional(), expectDisconnect: z.boolean().optional(), pauseBefore: z.string().optional() }),
  z.strictObject({ upload: z.strictObject({ source: z.string().min(1), destination: z.string().min(1) }) }),
  z.strictObject({ powershell: z.union([z.string(), z.array(z.string()).min(1)]), env: environment.optional(), pauseBefore: z.string().optional() }),
  z.strictObject({ restart: z.union([z.literal(true), z.strictObject({ timeout: z.string().optional() })]) }),
]);

const pattern = z.union([z.string(), z.instanceof(RegExp)]);

export const smokeCheckSchema = z.strictObject({
  name: z.string().min(1),
  run: z.union([z.string(), z.array(z.string()).min(1)]),
  expectExitCode: z.number().int().default(0),
  stdoutMatches: z.array(pattern).optional(),
  stdoutNotMatches: z.array(pattern).optional(),
  stderrMatches: z.array(pattern).optional(),
  stderrNotMatches: z.array(pattern).optional(),
  timeoutSeconds: z.number().int().positive().optional(),
});

export const smokeSettingsSchema = z.strictObject({
  instanceTypes: z.array(z.string()).min(1).optional(),
  subnetId: z.string().optional(),
  securityGroupIds: z.array(z.string()).optional(),
  instanceProfile: z.string().optional(),
  userData: z.string().optional(),
  checkTimeoutSeconds: z.number().int().positive().optional(),
  timeoutSeconds: z.number().int().positive().optional(),
});

const smokeSchema = smokeSettingsSchema.extend({
  checks: z.array(smokeCheckSchema).default([]),
  onFailure: z.enum(['deregister', 'keep']).default('deregister'),
  packageManifest: z.boolean().default(true),
});

const volumeType = z.enum(['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard']);

export const blockDeviceSchema = z.strictObject({
  deviceName: z.string().regex(/^\/dev\/[a-z0-9]+$|^xvd[a-z]+$/, 'is not a device name (e.g. "/dev/xvda")'),
  sizeGiB: z.number().int().positive().optional(),
  type: volumeType.default('gp3'),
  iops: z.number().int().positive().optional(),
  throughput: z.number().int().positive().optional(),
  encrypted: z.boolean().optional(),
  kmsKeyId: z.string().optional(),
  deleteOnTermination: z.boolean().default(true),
  snapshotId: z.string().optional(),
});

const launchPermissionsSchema = z.union([
  z.strictObject({ public: z.literal(true), reason: z.string() }),
  z.strictObject({
    accounts: z.array(z.string().regex(accountIdPattern, 'is not a 12-digit AWS account ID. Use the account\'s 12-digit ID')).default([]),
    organizationArns: z.array(z.string().regex(/^arn:aws[a-z-]*:organizations::\d{12}:organization\/o-[a-z0-9]{10,32}$/, 'is not an organization ARN (arn:aws:organizations::123456789012:organization/o-abcdefghij)')).default([]),
    organizationalUnitArns: z.array(z.string().regex(/^arn:aws[a-z-]*:organizations::\d{12}:ou\/o-[a-z0-9]{10,32}\/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/, 'is not an organizational unit ARN (arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34)')).default([]),
  }),
]);

export const imageDefinitionSchema = z.strictObject({
  name: imageName,
  description: z.string().min(1, 'must not be empty: say what the image is for'),
  version: z.string().regex(semverPattern, 'must be a semantic version x.y.z (e.g. "1.0.0")'),
  platform: z.enum(['linux', 'windows']).default('linux'),
  architecture: z.enum(['x86_64', 'arm64']).default('x86_64'),
  base: baseSchema,
  instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'is not an EC2 instance type (e.g. "t3.micro")'),
  regions: z.strictObject({ build: region, copies: z.array(region).default([]) }),
  provision: z.array(provisionStep).default([]),
  smoke: smokeSchema.default({ checks: [], onFailure: 'deregister', packageManifest: true }),
  tags: tagMap.default({}),
  launchPermissions: launchPermissionsSchema.default({ accounts: [], organizationArns: [], organizationalUnitArns: [] }),
  blockDevices: z.strictObject({ launch: z.array(blockDeviceSchema).default([]), ami: z.array(blockDeviceSchema).default([]) }).default({ launch: [], ami: [] }),
  encryption: z.strictObject({ kmsKeyId: z.string().min(1), regionKmsKeyIds: z.record(region, z.string().min(1)).default({}) }).optional(),
  deprecateAfterDays: z.number().int().positive().optional(),
  buildInfrastructure: z
    .strictObject({
      subnetId: z.string().optional(),
      vpcId: z.string().optional(),
      subnetFilter: z.record(z.string(), z.string()).optional(),
      securityGroupIds: z.array(z.string()).optional(),
      instanceProfile: z.string().optional(),
      temporaryInstanceProfile: z.boolean().optional(),
      sessionManager: z.boolean().default(false),
      requireImdsV2: z.boolean().default(true),
      sshUsername: z.string().optional(),
    })
    .default({ sessionManager: false, requireImdsV2: true }),
  retention: z.strictObject({ keep: z.number().int().min(1, 'must keep at least 1 version') }).optional(),
  template: z.string().optional(),
  partial: z.string().optional(),
  packerSource: z.record(z.string(), z.unknown()).optional(),
});

/** What authors write: every field with a default is optional. */
export type ImageDefinition = z.input<typeof imageDefinitionSchema>;
/** The shape after pass one, defaults applied, before resolution. */
export type ParsedImageDefinition = z.output<typeof imageDefinitionSchema>;
export type SmokeCheck = z.output<typeof smokeCheckSchema>;
export type BlockDevice = z.output<typeof blockDeviceSchema>;
export type ProvisionStepDefinition = z.output<typeof provisionStep>;
