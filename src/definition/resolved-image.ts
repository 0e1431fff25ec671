/**
 * The only form of an image that reaches planning, rendering and stages:
 * validated, defaults applied (from the definition and then the pipeline
 * settings), paths made absolute, and deeply read-only.
 */
import type { LaunchAgent, PackageManager } from './presets.ts';
import type { BlockDevice, DistributionAccount, LinuxGeneralizeItem, RetentionPolicy, SmokeCheck } from './schema.ts';

export type BaseSource =
  | { readonly kind: 'ssm'; readonly parameter: string }
  | { readonly kind: 'filter'; readonly owners: readonly string[]; readonly name: string; readonly includeDeprecated: boolean }
  | { readonly kind: 'ami'; readonly amis: Readonly<Record<string, string>> }
  | { readonly kind: 'image'; readonly image: string; readonly range: string | undefined };

export type ProvisionStep =
  | { readonly kind: 'shell'; readonly inline: readonly string[]; readonly env: Readonly<Record<string, string>>; readonly expectDisconnect: boolean; readonly pauseBefore: string | undefined }
  | { readonly kind: 'script'; readonly path: string; readonly env: Readonly<Record<string, string>>; readonly expectDisconnect: boolean; readonly pauseBefore: string | undefined }
  | { readonly kind: 'upload'; readonly source: string; readonly destination: string; readonly pauseBefore: string | undefined }
  | { readonly kind: 'powershell'; readonly inline: readonly string[]; readonly env: Readonly<Record<string, string>>; readonly pauseBefore: string | undefined }
  | { readonly kind: 'restart'; readonly timeout: string | undefined; readonly pauseBefore: string | undefined };

/**
 * gild's generalize step. `reason` is what the author wrote for keeping items or turning it off; rules.ts refuses
 * either without one. `launchAgent` is the Windows preset's (undefined for a Windows image not on a preset: the
 * render then runs EC2Launch v2 if it is installed, else v1).
 */
export type Generalize =
  | { readonly kind: 'on'; readonly keep: readonly LinuxGeneralizeItem[]; readonly reason: string | undefined; readonly launchAgent: LaunchAgent | undefined }
  | { readonly kind: 'off'; readonly reason: string; readonly bare: boolean };

export type LaunchPermissions =
  | { readonly kind: 'implicit' }
  | { readonly kind: 'explicit'; readonly accounts: readonly string[]; readonly organizationArns: readonly string[]; readonly organizationalUnitArns: readonly string[] }
  | { readonly kind: 'public'; readonly reason: string };

export interface ResolvedSmoke {
  readonly instanceTypes: readonly string[];
  readonly subnetId: string | undefined;
  readonly securityGroupIds: readonly string[];
  readonly instanceProfile: string | undefined;
  readonly userData: string | undefined;
  readonly checkTimeoutSeconds: number;
  readonly timeoutSeconds: number;
  readonly checks: readonly Readonly<SmokeCheck>[];
  readonly onFailure: 'deregister' | 'keep';
  readonly packageManifest: boolean;
  /** `build`: launched in the build region only; `all`: in every region it is published in (plan-smoke.ts). */
  readonly regions: 'build' | 'all';
  /** `AWS-RunShellScript` for Linux, `AWS-RunPowerShellScript` for Windows. */
  readonly documentName: 'AWS-RunShellScript' | 'AWS-RunPowerShellScript';
}

export interface ResolvedImage {
  readonly name: string;
  /** The definition file, relative to the project root, for messages. */
  readonly file: string;
  /** Absolute folder of the definition, which script and upload paths are relative to. */
  readonly dir: string;
  readonly description: string;
  readonly version: string;
  readonly platform: 'linux' | 'windows';
  readonly architecture: 'x86_64' | 'arm64';
  readonly base: BaseSource;
  /** The OS preset the base came from, when it came from one. */
  readonly preset: string | undefined;
  /** Lists installed packages, one `name version` a line: from the preset, else by platform (rpm / Get-Package). */
  readonly packageManifestCommand: string;
  /** The container image of the image's twin, when the definition names one (else the preset's, src/target/container-twins.ts). */
  readonly containerImage?: string | undefined;
  readonly instanceType: string;
  readonly buildRegion: string;
  readonly copyRegions: readonly string[];
  /** The build region first, then the copy regions. */
  readonly regions: readonly string[];
  readonly provision: readonly ProvisionStep[];
  readonly generalize: Generalize;
  /** Whether the OS's update command runs before the provisioning, and which (undefined: find it on the instance). */
  readonly patch: { readonly enabled: boolean; readonly packageManager: PackageManager | undefined };
  readonly smoke: ResolvedSmoke;
  readonly tags: Readonly<Record<string, string>>;
  readonly launchPermissions: LaunchPermissions;
  readonly launchBlockDevices: readonly Readonly<BlockDevice>[];
  readonly amiBlockDevices: readonly Readonly<BlockDevice>[];
  readonly encryption: { readonly kmsKeyId: string; readonly regionKmsKeyIds: Readonly<Record<string, string>> } | undefined;
  readonly deprecateAfterDays: number | undefined;
  readonly buildInfrastructure: {
    readonly subnetId: string | undefined;
    readonly vpcId: string | undefined;
    readonly subnetFilter: Readonly<Record<string, string>> | undefined;
    readonly securityGroupIds: readonly string[];
    readonly instanceProfile: string | undefined;
    readonly temporaryInstanceProfile: boolean;
    readonly sessionManager: boolean;
    readonly requireImdsV2: boolean;
    readonly sshUsername: string;
  };
  readonly retention: RetentionPolicy;
  /** Accounts that get their own copy of every published version (`distribution.accounts`). */
  readonly distribution: readonly Readonly<DistributionAccount>[];
  /** Absolute path of the template the image renders with. */
  readonly template: string | undefined;
  readonly partial: string | undefined;
  readonly packerSource: Readonly<Record<string, unknown>>;
  /** Names of the gild images this one is built on (from `base.image`). */
  readonly dependsOn: readonly string[];
}
