/**
 * The organisation's pipeline settings (`pipeline/settings.ts`). Like image
 * definitions, authors write `PipelineSettingsInput` and the engine only ever
 * sees the resolved, defaulted `PipelineSettings`.
 */
import { z } from 'zod';
import { accountIdPattern, defaultKeepRevokedDays, region, retentionSettingsSchema, smokeSettingsSchema, smokeTimeoutSeconds } from '../definition/schema.ts';
import { notifySettingsSchema } from '../notify/notify-settings.ts';

/** A failed AMI kept for inspection is cleaned up after a week unless the settings say otherwise. */
export const defaultKeepFailedDays = 7;

/**
 * Channel names that would collide with the parameter layout (`latest`, `v<major>`, …) or with what every object
 * has (`constructor`, `__proto__`, …): a lookup of such a channel would find something that is not a channel.
 */
export function isReservedChannelName(name: string): boolean {
  return ['latest', 'versions', 'holds', 'ledger', 'status', 'lock', 'channels'].includes(name) || /^v\d+$/.test(name) || name in Object.prototype || name === '__proto__';
}

/** SSM parameter hierarchies are at most 15 levels deep; gild adds at most 4 below the prefix (`<image>/holds/channels/<name>`). */
const maxPrefixLevels = 11;
/** SSM takes 1011 characters for a name with the ARN before it (~60); gild adds at most ~200 below the prefix. */
const maxPrefixLength = 700;

export const pipelineSettingsSchema = z.strictObject({
  ssmPrefix: z
    .string()
    .regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'must be an SSM path such as "/golden" (no trailing slash)')
    // NOTE: AWS refuses any parameter name whose first level begins with "aws" or "ssm" (any case), not only /aws/.
    .refine(
      (prefix) => !/^\/(aws|ssm)/i.test(prefix),
      'must not start with /aws or /ssm (nor a first level beginning with "aws" or "ssm", in any case), which AWS reserves. Use a prefix such as "/golden"',
    )
    .refine(
      (prefix) => prefix.split('/').length - 1 <= maxPrefixLevels,
      `is deeper than ${maxPrefixLevels} levels: SSM allows 15 and gild adds up to 4 below the prefix (<image>/holds/channels/<name>). Use a shorter prefix`,
    )
    .refine(
      (prefix) => prefix.length <= maxPrefixLength,
      `is longer than ${maxPrefixLength} characters: SSM allows 1011 for a whole parameter name with its ARN, and gild adds up to ~200 below the prefix. Use a shorter prefix`,
    )
    .default('/golden'),
  /** Defaults for every image's `retention`; see retentionSettingsSchema. */
  retention: retentionSettingsSchema.default({ keep: 3, minAgeDays: 0, phases: {}, keepRevokedDays: defaultKeepRevokedDays }),
  concurrency: z.number().int().min(1).max(32).default(2),
  /**
   * Deregistration protection on every AMI a pointer names (EnableImageDeregistrationProtection); retirement removes it
   * as part of its planned deregister step. Off by default: the protection also stops people deregistering by hand.
   */
  protection: z.boolean().default(false),
  /**
   * Where each version's evidence (its CycloneDX SBOM) is stored, under `<prefix>/<image>/<version>/`, so that the next
   * run on any machine diffs its packages against it (docs/emulator.md "Container twins"). The bucket's region is `region`,
   * else the image's build region.
   */
  evidence: z
    .strictObject({
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)'),
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'must be a key prefix such as "gild/evidence" (no leading or trailing slash)')
        .default('gild/evidence'),
      region: region.optional(),
    })
    .optional(),
  requiredTags: z.array(z.string().min(1)).default([]),
  /** Public images also need a written reason in the definition; see launchPermissions. */
  allowPublicImages: z.boolean().default(false),
  /** The publishing account. Lets validation warn when an image shares with its own account. */
  accountId: z.string().regex(accountIdPattern, "is not a 12-digit AWS account ID. Use the publishing account's 12-digit ID").optional(),
  /** Regions images may be built in or copied to. Unset: any AWS region. */
  regions: z.array(region).min(1, 'must list at least one region, or leave `regions` out to allow any').optional(),
  smoke: smokeSettingsSchema
    .extend({
      instanceTypes: z.array(z.string()).min(1).default(['t3.micro']),
      checkTimeoutSeconds: smokeTimeoutSeconds.default(300),
      timeoutSeconds: smokeTimeoutSeconds.default(1800),
    })
    .default({ instanceTypes: ['t3.micro'], checkTimeoutSeconds: 300, timeoutSeconds: 1800 }),
  /**
   * Channels app teams follow (`<prefix>/<image>/channels/<name>`). A channel never moves on publish, only when told
   * (`gild promote`); `soakDays` is how long a version must have been published before it can be promoted there.
   */
  channels: z
    .record(
      z
        .string()
        .regex(/^[a-z][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes, such as "stable"')
        .refine(
          (name) => !isReservedChannelName(name),
          'is reserved: gild uses it under <prefix>/<image>/ (latest, v<major>, versions, holds, ledger, status, lock), or every JavaScript object has it (constructor, …). Choose another name, such as "stable"',
        ),
      z.strictObject({ soakDays: z.number().int().min(0).default(0) }),
    )
    .default({ stable: { soakDays: 0 } }),
  /**
   * How long an AMI kept on purpose (`smoke.onFailure: 'keep'`) stays for inspection: stamped on it as
   * `gild:keep-until` when it is kept; once that passes, the next run cleans it up.
   */
  keepFailedDays: z.number().int().positive().default(defaultKeepFailedDays),
  /** gild-tagged build and smoke instances older than this are terminated at the start of a run. */
  sweepAfterMinutes: z.number().int().positive().default(120),
  /**
   * Who copies an image to its other regions: `gild` itself (the default), beside the smoke test (docs/aws-clock.md: a
   * failing image is never copied, dependants start from the base's tested AMI while its copies run), or `packer`
   * inside the build (`ami_regions`; the smoke test waits for every copy).
   */
  regionCopies: z.enum(['packer', 'gild']).default('gild'),
  /**
   * Folders, relative to the project root, that scripts and uploads may also
   * come from (besides the image definition's own folder), e.g. ["shared/scripts"].
   * Paths are resolved with symbolic links before they are checked.
   */
  provisionPaths: z
    .array(
      z
        .string()
        .min(1)
        .refine((folder) => !folder.startsWith('/') && !folder.split(/[\\/]/).includes('..'), 'must be a folder inside the project, without ".." or a leading "/"'),
    )
    .optional(),
  /** Rebuild an unchanged image anyway once its newest version is this old (the nightly patch rebuild). */
  rebuildAfterDays: z.number().int().positive().optional(),
  /** Whom to tell about published, failed, revoked, rolled-back, restored and retired versions (docs/notifications.md). */
  notify: notifySettingsSchema.optional(),
});

export type PipelineSettingsInput = z.input<typeof pipelineSettingsSchema>;
export type PipelineSettings = Readonly<z.output<typeof pipelineSettingsSchema>>;

export { defineSettings } from './define-settings.ts';
