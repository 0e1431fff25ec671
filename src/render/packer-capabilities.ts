/**
 * What a given Packer version's amazon-ebs builder understands, and what gild
 * does when a rendered image needs something the installed Packer lacks.
 *
 * Verified by running `packer validate` with Debian's Packer 1.6.6 (amazon
 * builder bundled) on a rendered folder:
 *
 * | setting                                        | 1.6.6    | when missing                                   |
 * |------------------------------------------------|----------|------------------------------------------------|
 * | `packer { required_plugins }` + `packer init`  | rejected | not emitted: the builder is bundled            |
 * | `metadata_options { http_tokens = "required" }`| rejected | dropped with a warning (build instance only)   |
 * | `imds_support = "v2.0"`                        | rejected | dropped with a warning (AMI default only)      |
 * | `deprecate_at`                                 | rejected | dropped with a warning (retire still runs)     |
 * | `temporary_iam_instance_profile_policy_document` | accepted | -                                            |
 * | `ssh_interface = "session_manager"`            | accepted | -                                              |
 * | `region_kms_key_ids`                           | accepted | - (must name every `ami_regions` region)       |
 * | `run_volume_tags`, gp3 `throughput`            | accepted | -                                              |
 *
 * Sharing (`ami_users`, `ami_org_arns`, `ami_ou_arns`, …) is not rendered at
 * all: gild shares through the SDK after the smoke test (src/stages/share.ts),
 * so organisations and OUs work with any Packer.
 *
 * All of the rejected settings are understood by Packer >= 1.7 with the amazon
 * plugin >= 1.2.2 (`imds_support` arrived in 1.2.2; 1.2.0 and 1.2.1 reject it),
 * which gild requires there through `required_plugins`. The plugin's schema at
 * that version is test/fixtures/modern-packer/amazon-ebs-schema.json, and
 * test/integration/modern-packer-render.test.ts checks every rendering against it.
 */
import semver from 'semver';

export interface PackerVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

export type MissingPolicy = 'drop' | 'refuse';

export interface GatedSetting {
  /** Top-level name in the amazon-ebs source block. */
  readonly name: string;
  readonly since: PackerVersion;
  readonly whenMissing: MissingPolicy;
  /** Why dropping is harmless, or why it is not. */
  readonly consequence: string;
  /** The definition field that asked for it, for messages. */
  readonly field: string;
}

const pluginEra: PackerVersion = { major: 1, minor: 7, patch: 0 };

export const gatedSettings: readonly GatedSetting[] = [
  {
    name: 'metadata_options',
    since: pluginEra,
    whenMissing: 'drop',
    field: 'buildInfrastructure.requireImdsV2',
    consequence: 'the build instance will also answer IMDSv1 requests while it is being built',
  },
  { name: 'imds_support', since: pluginEra, whenMissing: 'drop', field: 'buildInfrastructure.requireImdsV2', consequence: 'instances launched from the AMI will not default to IMDSv2' },
  { name: 'deprecate_at', since: pluginEra, whenMissing: 'drop', field: 'deprecateAfterDays', consequence: 'the AMI gets no deprecation date; gild still retires old versions' },
];

export function formatPackerVersion(version: PackerVersion): string {
  return `${version.major}.${version.minor}.${version.patch}`;
}

export function isAtLeast(version: PackerVersion, minimum: PackerVersion): boolean {
  return semver.gte(formatPackerVersion(version), formatPackerVersion(minimum));
}

/** Packer 1.7 brought `required_plugins` and `packer init`; 1.6 rejects the block. */
export function supportsRequiredPlugins(version: PackerVersion): boolean {
  return isAtLeast(version, pluginEra);
}

export function isSupported(setting: GatedSetting, version: PackerVersion): boolean {
  return isAtLeast(version, setting.since);
}
