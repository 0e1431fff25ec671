/**
 * Turns a parsed definition into a ResolvedImage: applies the pipeline
 * settings' defaults, expands OS presets, and makes paths absolute.
 */
import path from 'node:path';
import type { PipelineSettings } from '../settings/schema.ts';
import { architectureOf } from './instance-architecture.ts';
import { defaultPackageManifestCommand, findPreset } from './presets.ts';
import type { BaseSource, Generalize, LaunchPermissions, ProvisionStep, ResolvedImage } from './resolved-image.ts';
import { resolveRetention, type ParsedImageDefinition } from './schema.ts';

const asList = (value: string | readonly string[]): readonly string[] => (typeof value === 'string' ? [value] : value);

function resolveBase(base: ParsedImageDefinition['base'], architecture: 'x86_64' | 'arm64'): { base: BaseSource; preset: string | undefined } {
  if ('ssmParameter' in base) return { base: { kind: 'ssm', parameter: base.ssmParameter }, preset: undefined };
  if ('filter' in base) return { base: { kind: 'filter', ...base.filter }, preset: undefined };
  if ('ami' in base) return { base: { kind: 'ami', amis: typeof base.ami === 'string' ? { '*': base.ami } : base.ami }, preset: undefined };
  if ('image' in base) return { base: { kind: 'image', image: base.image, range: base.range }, preset: undefined };
  // Unknown presets and missing architectures are reported by the rules pass; keep a placeholder here.
  const preset = findPreset(base.preset);
  return { base: preset?.base[architecture] ?? { kind: 'ssm', parameter: `/unknown-preset/${base.preset}` }, preset: base.preset };
}

function resolveLaunchPermissions(permissions: ParsedImageDefinition['launchPermissions']): LaunchPermissions {
  if ('public' in permissions) return { kind: 'public', reason: permissions.reason?.trim() ?? '' };
  const { accounts, organizationArns, organizationalUnitArns } = permissions;
  return accounts.length + organizationArns.length + organizationalUnitArns.length === 0 ? { kind: 'implicit' } : { kind: 'explicit', accounts, organizationArns, organizationalUnitArns };
}

function resolveProvisionStep(step: ParsedImageDefinition['provision'][number], dir: string): ProvisionStep {
  if ('shell' in step) return { kind: 'shell', inline: asList(step.shell), env: step.env ?? {}, expectDisconnect: step.expectDisconnect ?? false, pauseBefore: step.pauseBefore };
  if ('script' in step) return { kind: 'script', path: path.resolve(dir, step.script), env: step.env ?? {}, expectDisconnect: step.expectDisconnect ?? false, pauseBefore: step.pauseBefore };
  if ('upload' in step) {
    // NOTE: a trailing slash is meaningful to Packer's file provisioner (upload the folder's contents, not the folder), so keep it.
    const source = path.resolve(dir, step.upload.source) + (/[\\/]$/.test(step.upload.source) ? path.sep : '');
    return { kind: 'upload', source, destination: step.upload.destination, pauseBefore: step.pauseBefore };
  }
  if ('powershell' in step) return { kind: 'powershell', inline: asList(step.powershell), env: step.env ?? {}, pauseBefore: step.pauseBefore };
  return { kind: 'restart', timeout: step.restart === true ? undefined : step.restart.timeout, pauseBefore: step.pauseBefore };
}

function resolveGeneralize(generalize: ParsedImageDefinition['generalize'], preset: ReturnType<typeof findPreset>): Generalize {
  const launchAgent = preset && 'launchAgent' in preset.firstBoot ? preset.firstBoot.launchAgent : undefined;
  if (generalize === undefined || generalize === true) return { kind: 'on', keep: [], reason: undefined, launchAgent };
  if (generalize === false) return { kind: 'off', reason: '', bare: true };
  const reason = generalize.reason?.trim() || undefined;
  if (!generalize.enabled) return { kind: 'off', reason: reason ?? '', bare: false };
  return { kind: 'on', keep: [...new Set(generalize.keep)], reason, launchAgent };
}

/** The settings' smoke instance types that fit the architecture; if none do (an arm64 image, x86 defaults), the build's own type. */
function smokeInstanceTypeDefaults(defaults: readonly string[] | undefined, instanceType: string, architecture: 'x86_64' | 'arm64'): readonly string[] {
  const fitting = (defaults ?? []).filter((candidate) => architectureOf(candidate) === architecture);
  return fitting.length > 0 ? fitting : [instanceType];
}

export function resolveImage(parsed: ParsedImageDefinition, source: { file: string; absolutePath: string; cwd: string }, settings: PipelineSettings): ResolvedImage {
  const dir = path.dirname(source.absolutePath);
  const { base, preset } = resolveBase(parsed.base, parsed.architecture);
  const smokeDefaults = settings.smoke;
  const presetDetails = preset ? findPreset(preset) : undefined;
  const platform = parsed.platform ?? presetDetails?.platform ?? 'linux';
  const windows = platform === 'windows';
  return {
    name: parsed.name,
    file: source.file,
    dir,
    description: parsed.description,
    version: parsed.version,
    platform,
    architecture: parsed.architecture,
    base,
    preset,
    packageManifestCommand: presetDetails?.packageManifestCommand ?? defaultPackageManifestCommand(platform),
    containerImage: parsed.containerImage,
    instanceType: parsed.instanceType,
    buildRegion: parsed.regions.build,
    copyRegions: parsed.regions.copies,
    regions: [parsed.regions.build, ...parsed.regions.copies.filter((region) => region !== parsed.regions.build)],
    provision: parsed.provision.map((step) => resolveProvisionStep(step, dir)),
    generalize: resolveGeneralize(parsed.generalize, presetDetails),
    // NOTE: an image on another gild image or a named AMI has no preset to say what it runs; it patches when asked.
    patch: { enabled: parsed.patch ?? presetDetails !== undefined, packageManager: presetDetails?.packageManager },
    smoke: {
      instanceTypes: parsed.smoke.instanceTypes ?? smokeInstanceTypeDefaults(smokeDefaults.instanceTypes, parsed.instanceType, parsed.architecture),
      subnetId: parsed.smoke.subnetId ?? smokeDefaults.subnetId,
      securityGroupIds: parsed.smoke.securityGroupIds ?? smokeDefaults.securityGroupIds ?? [],
      instanceProfile: parsed.smoke.instanceProfile ?? smokeDefaults.instanceProfile,
      userData: parsed.smoke.userData ?? smokeDefaults.userData,
      checkTimeoutSeconds: parsed.smoke.checkTimeoutSeconds ?? smokeDefaults.checkTimeoutSeconds,
      timeoutSeconds: parsed.smoke.timeoutSeconds ?? smokeDefaults.timeoutSeconds,
      checks: parsed.smoke.checks,
      onFailure: parsed.smoke.onFailure,
      packageManifest: parsed.smoke.packageManifest,
      regions: parsed.smoke.regions,
      documentName: windows ? 'AWS-RunPowerShellScript' : 'AWS-RunShellScript',
    },
    tags: parsed.tags,
    launchPermissions: resolveLaunchPermissions(parsed.launchPermissions),
    launchBlockDevices: parsed.blockDevices.launch,
    amiBlockDevices: parsed.blockDevices.ami,
    encryption: parsed.encryption,
    deprecateAfterDays: parsed.deprecateAfterDays,
    buildInfrastructure: {
      subnetId: parsed.buildInfrastructure.subnetId,
      vpcId: parsed.buildInfrastructure.vpcId,
      subnetFilter: parsed.buildInfrastructure.subnetFilter,
      securityGroupIds: parsed.buildInfrastructure.securityGroupIds ?? [],
      instanceProfile: parsed.buildInfrastructure.instanceProfile,
      temporaryInstanceProfile: parsed.buildInfrastructure.temporaryInstanceProfile ?? parsed.buildInfrastructure.instanceProfile === undefined,
      sessionManager: parsed.buildInfrastructure.sessionManager,
      requireImdsV2: parsed.buildInfrastructure.requireImdsV2,
      sshUsername: parsed.buildInfrastructure.sshUsername ?? presetDetails?.sshUsername ?? (windows ? 'Administrator' : 'ec2-user'),
    },
    retention: resolveRetention(parsed.retention, settings.retention),
    distribution: parsed.distribution.accounts,
    template: parsed.template ? path.resolve(source.cwd, 'templates', parsed.template) : undefined,
    partial: parsed.partial,
    packerSource: parsed.packerSource ?? {},
    dependsOn: 'image' in parsed.base ? [parsed.base.image] : [],
  };
}
