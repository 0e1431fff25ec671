/**
 * Pass two of validation: rules that need more than one field, more than one
 * image, the pipeline settings or the file system. Each rule returns its
 * problems; the caller reports them all together.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PipelineSettings } from '../settings/schema.ts';
import { closestMatch, partitionOf } from './aws-regions.ts';
import { checkBlockDevice, checkDeviceNames } from './block-device-rules.ts';
import { architectureOf } from './instance-architecture.ts';
import { checkPackerSource } from './packer-source-rules.ts';
import { findPreset } from './presets.ts';
import type { ResolvedImage } from './resolved-image.ts';
import { roleArnPattern } from './schema.ts';

export interface RuleContext {
  readonly images: readonly ResolvedImage[];
  readonly settings: PipelineSettings;
  /** Raw base definitions by image name, for messages about presets. */
  readonly presetNames: ReadonlyMap<string, string | undefined>;
  /** The project root: templates/ and templates/partials/ are under it. */
  readonly cwd?: string;
  /** Names of images whose definitions failed pass one: other images may still name them. */
  readonly unparsedNames?: ReadonlySet<string>;
}

export interface RuleFinding {
  readonly errors: string[];
  readonly warnings: string[];
}

export type Rule = (image: ResolvedImage, context: RuleContext) => Partial<RuleFinding> | void;

/** A check that calls systemctl needs systemd as PID 1: in a container twin it cannot pass, so it should say `needs: 'vm'`. */
const vmChecksMarked: Rule = (image) => {
  if (image.platform !== 'linux') return;
  const warnings = image.smoke.checks.flatMap((check, index) =>
    check.needs !== 'vm' && (typeof check.run === 'string' ? [check.run] : check.run).some((command) => /\bsystemctl\b/.test(command))
      ? [
          `${image.file}: smoke.checks[${index}] ("${check.name}") calls systemctl, which needs systemd as PID 1: in a container twin it cannot pass. Add needs: 'vm' so it is skipped there (it still runs on AWS).`,
        ]
      : [],
  );
  return { warnings };
};

const uniqueNames: Rule = (image, { images }) => {
  const first = images.find((other) => other.name === image.name);
  if (first && first !== image) return { errors: [`${image.file}: name: "${image.name}" is already used by ${first.file}. Image names must be unique; rename one of them.`] };
};

const baseImageExists: Rule = (image, { images, unparsedNames }) => {
  if (image.base.kind !== 'image') return;
  const { image: baseName } = image.base;
  if (baseName === image.name) return { errors: [`${image.file}: base.image: "${baseName}" is this image itself. Build on another image or an AMI.`] };
  if (!images.some((other) => other.name === baseName)) {
    // The base exists but has problems of its own, already reported.
    if (unparsedNames?.has(baseName)) return;
    const suggestion = closestMatch(
      baseName,
      images.map((other) => other.name),
    );
    return {
      errors: [`${image.file}: base.image: "${baseName}" is not a gild image.${suggestion ? ` Did you mean "${suggestion}"?` : ''} Known images: ${images.map((other) => other.name).join(', ')}.`],
    };
  }
};

const scriptsExist: Rule = (image, { settings, cwd }) => {
  const errors: string[] = [];
  const allowedFolders = (settings.provisionPaths ?? []).map((folder) => path.resolve(cwd ?? image.dir, folder));
  image.provision.forEach((step, index) => {
    const file = step.kind === 'script' ? step.path : step.kind === 'upload' ? step.source : undefined;
    if (!file) return;
    const field = `${image.file}: provision[${index}].${step.kind === 'script' ? 'script' : 'upload.source'}:`;
    const shown = path.relative(image.dir, file).split(path.sep).join('/') || '.';
    if (!existsSync(file)) errors.push(`${field} "${shown}" does not exist (looked for ${file}). Paths are relative to the definition's folder.`);
    else if (step.kind === 'script' && statSync(file).isDirectory()) errors.push(`${field} "${shown}" is a folder. Name a script file, or upload the folder with { upload: { source, destination } }.`);
    else {
      const outside = escapesAllowedFolders(file, image.dir, allowedFolders);
      if (outside)
        errors.push(
          `${field} "${shown}" ${outside}, so a file of the build host would go into the image. Keep scripts and uploads inside ${path.relative(cwd ?? image.dir, image.dir) || '.'}/${allowedFolders.length > 0 ? ` or the folders settings.provisionPaths allows (${allowedFolders.join(', ')})` : ', or allow a folder with provisionPaths in pipeline/settings.ts'}.`,
        );
    }
  });
  return { errors };
};

const isInside = (file: string, folder: string): boolean => {
  const relative = path.relative(folder, file);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
};

/**
 * Why a script or upload leaves the folders it may come from, with symlinks
 * resolved (a link inside the folder that points out is refused), or undefined.
 */
function escapesAllowedFolders(file: string, imageDir: string, allowedFolders: readonly string[]): string | undefined {
  const real = realpathSync(file);
  const folders = [imageDir, ...allowedFolders].map((folder) => (existsSync(folder) ? realpathSync(folder) : folder));
  if (folders.some((folder) => isInside(real, folder))) return undefined;
  return real === path.resolve(file) ? `is outside the image's folder (${real})` : `leads outside the image's folder through a symbolic link (to ${real})`;
}

const requiredTagsPresent: Rule = (image, { settings }) => {
  const missing = settings.requiredTags.filter((tag) => !(tag in image.tags) || image.tags[tag] === '');
  if (missing.length > 0) {
    return {
      errors: [
        `${image.file}: tags: missing required tag${missing.length === 1 ? '' : 's'} ${missing.map((tag) => `"${tag}"`).join(', ')}. pipeline/settings.ts requires every image to carry ${missing.length === 1 ? 'it' : 'them'}.`,
      ],
    };
  }
};

const reservedTagsUntouched: Rule = (image) => {
  const reserved = Object.keys(image.tags).filter((key) => key.startsWith('gild:'));
  if (reserved.length > 0)
    return {
      errors: [`${image.file}: tags: ${reserved.map((key) => `"${key}"`).join(', ')} ${reserved.length === 1 ? 'is' : 'are'} set by gild itself. Remove ${reserved.length === 1 ? 'it' : 'them'}.`],
    };
};

const copyRegionsDistinct: Rule = (image) => {
  const errors: string[] = [];
  const seen = new Set<string>();
  image.copyRegions.forEach((region, index) => {
    if (region === image.buildRegion) errors.push(`${image.file}: regions.copies[${index}]: "${region}" is the build region. The AMI is already there; remove it from copies.`);
    else if (seen.has(region)) errors.push(`${image.file}: regions.copies[${index}]: "${region}" is listed twice. Remove the duplicate.`);
    seen.add(region);
  });
  return { errors };
};

const presetFitsImage: Rule = (image) => {
  if (!image.preset) return;
  const preset = findPreset(image.preset);
  if (!preset) return; // pass one reports unknown presets
  const errors: string[] = [];
  if (preset.platform !== image.platform) {
    errors.push(
      `${image.file}: platform: "${image.platform}" does not match base.preset "${image.preset}", which is ${preset.platform}. Remove platform (the preset sets it) or choose a ${image.platform} preset.`,
    );
  }
  if (!preset.base[image.architecture]) {
    const available = Object.keys(preset.base).join(', ');
    errors.push(
      `${image.file}: base.preset: "${image.preset}" (${preset.description}) is not published for ${image.architecture} on EC2; it has ${available}. Set architecture to ${available}, or choose another preset.`,
    );
  }
  return { errors };
};

const instanceTypesMatchArchitecture: Rule = (image) => {
  const errors: string[] = [];
  const check = (instanceType: string, field: string) => {
    const actual = architectureOf(instanceType);
    if (actual === image.architecture) return;
    const hint = image.architecture === 'arm64' ? 'a Graviton type such as "t4g.micro" or "m7g.large"' : 'an Intel or AMD type such as "t3.micro" or "m7i.large"';
    errors.push(`${image.file}: ${field}: "${instanceType}" is an ${actual} instance type, but the image is ${image.architecture}. Use ${hint}, or set architecture: "${actual}".`);
  };
  check(image.instanceType, 'instanceType');
  // The smoke test defaults to the build type; one error for it is enough.
  image.smoke.instanceTypes.forEach((instanceType, index) => instanceType !== image.instanceType && check(instanceType, `smoke.instanceTypes[${index}]`));
  return { errors };
};

const stepsFitPlatform: Rule = (image) => {
  const errors: string[] = [];
  if (image.platform === 'windows' && image.architecture === 'arm64') {
    errors.push(`${image.file}: architecture: "arm64" is not available for Windows on EC2. Use architecture: "x86_64".`);
  }
  image.provision.forEach((step, index) => {
    const where = `${image.file}: provision[${index}].${step.kind}:`;
    if (image.platform === 'windows' && (step.kind === 'shell' || step.kind === 'script')) {
      errors.push(`${where} runs bash, which Windows images do not have. Use { powershell: [...] } instead.`);
    }
    if (image.platform === 'linux' && (step.kind === 'powershell' || step.kind === 'restart')) {
      errors.push(`${where} is for Windows images only. On Linux use { shell: [...] }, with expectDisconnect: true for a step that reboots.`);
    }
  });
  return { errors };
};

const regionsAllowed: Rule = (image, { settings }) => {
  const errors: string[] = [];
  const fields: [string, string][] = [['regions.build', image.buildRegion], ...image.copyRegions.map((region, index): [string, string] => [`regions.copies[${index}]`, region])];
  const buildPartition = partitionOf(image.buildRegion);
  for (const [field, region] of fields) {
    if (settings.regions && !settings.regions.includes(region)) {
      errors.push(`${image.file}: ${field}: "${region}" is not one of the regions pipeline/settings.ts allows (${settings.regions.join(', ')}). Use one of those, or add it to settings.regions.`);
    } else if (partitionOf(region) !== buildPartition) {
      errors.push(
        `${image.file}: ${field}: "${region}" is in the ${partitionOf(region)} partition but the build region "${image.buildRegion}" is in ${buildPartition}. AMIs cannot be copied across partitions; define a separate image for it.`,
      );
    }
  }
  if (image.base.kind === 'ami' && !('*' in image.base.amis) && !(image.buildRegion in image.base.amis)) {
    errors.push(`${image.file}: base.ami: has no AMI for the build region "${image.buildRegion}". Add "${image.buildRegion}": "ami-…".`);
  }
  return { errors };
};

const encryptionKeysCoverCopies: Rule = (image) => {
  const errors: string[] = [];
  const warnings: string[] = [];
  const { encryption } = image;
  if (!encryption) return;
  const keyRegion = (key: string) => /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(key)?.[1];
  const buildKeyRegion = keyRegion(encryption.kmsKeyId);
  if (buildKeyRegion && buildKeyRegion !== image.buildRegion) {
    errors.push(`${image.file}: encryption.kmsKeyId: the key is in ${buildKeyRegion} but the image is built in ${image.buildRegion}. KMS keys are regional; use a key in ${image.buildRegion}.`);
  }
  for (const region of image.copyRegions) {
    const key = encryption.regionKmsKeyIds[region];
    if (key === undefined) {
      errors.push(
        `${image.file}: encryption.regionKmsKeyIds: has no key for copy region "${region}". An encrypted image needs a KMS key in every region it is copied to; add "${region}": "arn:aws:kms:${region}:…".`,
      );
    } else if (keyRegion(key) && keyRegion(key) !== region) {
      errors.push(`${image.file}: encryption.regionKmsKeyIds.${region}: the key is in ${keyRegion(key)}, not ${region}. KMS keys are regional; use a key in ${region}.`);
    }
  }
  for (const region of Object.keys(encryption.regionKmsKeyIds)) {
    if (!image.copyRegions.includes(region)) {
      const why = region === image.buildRegion ? 'is the build region, which uses encryption.kmsKeyId' : 'is not a copy region';
      warnings.push(`${image.file}: encryption.regionKmsKeyIds.${region}: "${region}" ${why}, so this key is unused. Remove it, or add "${region}" to regions.copies.`);
    }
  }
  image.amiBlockDevices.forEach((device, index) => {
    if (device.encrypted === false)
      errors.push(`${image.file}: blockDevices.ami[${index}].encrypted: false contradicts encryption, which encrypts every volume of the image. Remove encrypted: false.`);
  });
  if (image.launchPermissions.kind === 'public') {
    errors.push(
      `${image.file}: launchPermissions.public: an encrypted image cannot be made public (AWS refuses to share encrypted snapshots publicly). Share with accounts or organizations, or remove encryption.`,
    );
  }
  return { errors, warnings };
};

const blockDevicesValid: Rule = (image) => {
  const errors: string[] = [];
  for (const [list, devices] of [
    ['launch', image.launchBlockDevices],
    ['ami', image.amiBlockDevices],
  ] as const) {
    const where = `${image.file}: blockDevices.${list}`;
    devices.forEach((device, index) => errors.push(...checkBlockDevice(device, `${where}[${index}]`)));
    errors.push(...checkDeviceNames(devices, where));
  }
  return { errors };
};

/**
 * Distribution accounts: the role must be in the account it serves (gild checks the credentials it gets against it),
 * every region must already hold the image (a copy into an account is made from the building account's AMI in the
 * same region), and an account is listed once.
 */
const distributionAccountsValid: Rule = (image, { settings }) => {
  const errors: string[] = [];
  const seen = new Map<string, number>();
  image.distribution.forEach((target, index) => {
    const where = `${image.file}: distribution.accounts[${index}]`;
    const roleAccount = roleArnPattern.exec(target.roleArn)?.[1];
    if (roleAccount && roleAccount !== target.account) {
      errors.push(`${where}.roleArn: the role is in account ${roleAccount}, not ${target.account}. Use a role in ${target.account} (the copies belong to the account whose role makes them).`);
    }
    if (settings.accountId && target.account === settings.accountId) {
      errors.push(`${where}.account: "${target.account}" is the building account, which already owns the image. Remove it; list only other accounts.`);
    }
    const first = seen.get(target.account);
    if (first !== undefined) errors.push(`${where}.account: "${target.account}" is already listed at distribution.accounts[${first}]. List each account once, with all its regions.`);
    else seen.set(target.account, index);
    const regions = new Set<string>();
    target.regions.forEach((region, regionIndex) => {
      if (regions.has(region)) errors.push(`${where}.regions[${regionIndex}]: "${region}" is listed twice. Remove the duplicate.`);
      else if (!image.regions.includes(region)) {
        errors.push(
          `${where}.regions[${regionIndex}]: "${region}" is not one of the image's regions (${image.regions.join(', ')}). A copy is made from the image's AMI in the same region; add "${region}" to regions.copies, or remove it here.`,
        );
      }
      regions.add(region);
    });
    const keyRegion = target.kmsKeyId ? /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):/.exec(target.kmsKeyId) : null;
    if (keyRegion && (target.regions.length > 1 || keyRegion[1] !== target.regions[0])) {
      errors.push(
        `${where}.kmsKeyId: the key ARN names ${keyRegion[1]}, but KMS keys are regional and the copies go to ${target.regions.join(', ')}. Use an alias ("alias/name"), which each region resolves to that account's key there, or one account entry per region.`,
      );
    }
    if (keyRegion && keyRegion[2] !== target.account) {
      errors.push(`${where}.kmsKeyId: the key is in account ${keyRegion[2]}, not ${target.account}. Encrypt the copies with a key of the account that owns them.`);
    }
    // NOTE: the smoke test runs its checks through SSM Run Command, which reaches no instance without a profile that
    // allows it; the building account's profile does not exist in that account.
    if (target.smoke && (target.smoke === true || !target.smoke.instanceProfile)) {
      errors.push(
        `${where}.smoke: the smoke test there needs an instance profile in account ${target.account} (SSM Run Command reaches no instance without one, and the building account's does not exist there). Give smoke: { instanceProfile: "<a profile in ${target.account} with AmazonSSMManagedInstanceCore>" }.`,
      );
    }
  });
  return { errors };
};

const minimumPublicReason = 20;

const launchPermissionsLeastPrivilege: Rule = (image, { settings }) => {
  const errors: string[] = [];
  const warnings: string[] = [];
  const permissions = image.launchPermissions;
  if (permissions.kind === 'public') {
    if (!settings.allowPublicImages) {
      errors.push(
        `${image.file}: launchPermissions.public: pipeline/settings.ts does not allow public images (allowPublicImages is false), and an image is private unless it must not be (least privilege). Share with accounts, organizationArns or organizationalUnitArns instead.`,
      );
    }
    if (permissions.reason.length < minimumPublicReason) {
      errors.push(
        `${image.file}: launchPermissions.reason: ${permissions.reason ? `${JSON.stringify(permissions.reason)} is too short` : 'is missing'}. A public image needs a written reason of at least ${minimumPublicReason} characters saying why anyone on AWS must be able to launch it.`,
      );
    }
  }
  if (permissions.kind === 'explicit') {
    const seen = new Set<string>();
    permissions.accounts.forEach((account, index) => {
      if (settings.accountId && account === settings.accountId) {
        warnings.push(`${image.file}: launchPermissions.accounts[${index}]: "${account}" is the publishing account, which owns the image and can always launch it. Remove it.`);
      } else if (seen.has(account)) {
        warnings.push(`${image.file}: launchPermissions.accounts[${index}]: "${account}" is listed twice. Remove the duplicate.`);
      }
      seen.add(account);
    });
  }
  return { errors, warnings };
};

const buildInfrastructureConsistent: Rule = (image) => {
  const errors: string[] = [];
  const infrastructure = image.buildInfrastructure;
  const where = `${image.file}: buildInfrastructure`;
  if (infrastructure.subnetId && infrastructure.subnetFilter) {
    errors.push(`${where}: give subnetId or subnetFilter, not both. subnetId names one subnet; subnetFilter lets Packer pick one.`);
  }
  if (infrastructure.instanceProfile && infrastructure.temporaryInstanceProfile) {
    errors.push(`${where}: give instanceProfile or temporaryInstanceProfile: true, not both. Use a named profile, or let Packer create a temporary one.`);
  }
  if (infrastructure.sessionManager && !infrastructure.instanceProfile && !infrastructure.temporaryInstanceProfile) {
    errors.push(`${where}.sessionManager: needs an instance profile with the AmazonSSMManagedInstanceCore policy. Set instanceProfile, or leave temporaryInstanceProfile on.`);
  }
  if (infrastructure.vpcId && !infrastructure.subnetId && !infrastructure.subnetFilter) {
    errors.push(`${where}.vpcId: "${infrastructure.vpcId}" is set without subnetId or subnetFilter. Packer needs a subnet in that VPC; add one.`);
  }
  return { errors };
};

const partialSuffix = '.pkr.hcl.hbs';

const escapeHatchesExist: Rule = (image, { cwd }) => {
  const errors: string[] = [];
  if (image.template && !existsSync(image.template)) {
    errors.push(`${image.file}: template: "${path.basename(image.template)}" does not exist in templates/ (looked for ${image.template}). Add the file, or remove template to use gild's own.`);
  }
  if (image.partial && cwd) {
    // NOTE: the suffix matches what src/render/render-template.ts registers as partials.
    const partialsDir = path.join(cwd, 'templates', 'partials');
    if (!existsSync(path.join(partialsDir, `${image.partial}${partialSuffix}`))) {
      const known = existsSync(partialsDir)
        ? readdirSync(partialsDir)
            .filter((name) => name.endsWith(partialSuffix))
            .map((name) => name.slice(0, -partialSuffix.length))
        : [];
      errors.push(
        `${image.file}: partial: "${image.partial}" does not exist (looked for templates/partials/${image.partial}${partialSuffix}). Add the file, or use one of: ${known.join(', ') || '(none)'}.`,
      );
    }
  }
  return { errors: [...errors, ...checkPackerSource(image)] };
};

/** Sysprep by any of its usual names: sysprep.exe, SysprepInstance.ps1, `ec2launch.exe sysprep`, EC2Config's -sysprep. */
const callsSysprep = /sysprep/i;

/**
 * The generalize step is gild's, and it is said: keeping an item or turning the step off needs a reason the plan
 * shows, and a Windows image must not run Sysprep itself (gild runs it last, after everything else).
 */
const generalizeExplained: Rule = (image) => {
  const errors: string[] = [];
  const { generalize } = image;
  const field = `${image.file}: generalize:`;
  if (generalize.kind === 'off' && generalize.bare) {
    errors.push(`${field} false needs a reason, which the plan shows. Write generalize: { enabled: false, reason: "why this image is captured without being generalized" }.`);
  } else if (generalize.kind === 'off' && !generalize.reason) {
    errors.push(`${field} enabled: false needs a reason, which the plan shows. Add reason: "why this image is captured without being generalized".`);
  }
  if (generalize.kind === 'on' && generalize.keep.length > 0 && !generalize.reason) {
    errors.push(
      `${field} keep: [${generalize.keep.map((item) => JSON.stringify(item)).join(', ')}] needs a reason, which the plan shows. Add reason: "why instances launched from this image need the build's ${generalize.keep.join(', ')}".`,
    );
  }
  if (image.platform === 'windows' && generalize.kind === 'on' && generalize.keep.length > 0) {
    errors.push(
      `${field} keep: lists Linux items; a Windows image is generalized by Sysprep as one step, which cannot keep parts. Remove keep, or turn the step off with generalize: { enabled: false, reason }.`,
    );
  }
  if (image.platform === 'windows' && generalize.kind === 'on') {
    image.provision.forEach((step, index) => {
      if (step.kind !== 'powershell') return;
      const command = step.inline.find((line) => callsSysprep.test(line));
      if (command !== undefined) {
        errors.push(
          `${image.file}: provision[${index}].powershell: ${JSON.stringify(command)} runs Sysprep, which gild runs itself as the last step (EC2Launch, then shutdown) so that nothing runs after it. Remove the command; to run your own Sysprep instead, set generalize: { enabled: false, reason }.`,
        );
      }
    });
  }
  return { errors };
};

export const rules: readonly Rule[] = [
  uniqueNames,
  baseImageExists,
  presetFitsImage,
  instanceTypesMatchArchitecture,
  stepsFitPlatform,
  scriptsExist,
  regionsAllowed,
  copyRegionsDistinct,
  encryptionKeysCoverCopies,
  blockDevicesValid,
  launchPermissionsLeastPrivilege,
  buildInfrastructureConsistent,
  distributionAccountsValid,
  requiredTagsPresent,
  reservedTagsUntouched,
  escapeHatchesExist,
  generalizeExplained,
  vmChecksMarked,
];

/** Dependency cycles among images, each reported once with its path. */
export function findCycles(images: readonly ResolvedImage[]): string[][] {
  const byName = new Map(images.map((image) => [image.name, image]));
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      cycles.push([...trail.slice(trail.indexOf(name)), name]);
      return;
    }
    state.set(name, 'visiting');
    for (const dependency of byName.get(name)?.dependsOn ?? []) if (byName.has(dependency)) visit(dependency, [...trail, name]);
    state.set(name, 'done');
  };
  for (const image of images) visit(image.name, []);
  return cycles;
}

export function applyRules(images: readonly ResolvedImage[], context: RuleContext, extraRules: readonly Rule[] = []): RuleFinding {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const image of images) {
    for (const rule of [...rules, ...extraRules]) {
      const finding = rule(image, context);
      if (finding) {
        errors.push(...(finding.errors ?? []));
        warnings.push(...(finding.warnings ?? []));
      }
    }
  }
  for (const cycle of findCycles(images)) {
    const file = images.find((image) => image.name === cycle[0])?.file ?? 'images/';
    errors.push(`${file}: base.image: images depend on each other in a cycle: ${cycle.join(' → ')}. Break the cycle by building one of them on an AMI or preset.`);
  }
  return { errors, warnings };
}
