/**
 * `gild verify` as data: the drift between what the definitions say and what
 * AWS holds, per image and region, each finding with the command that repairs
 * it and, where gild can tell what is right, the repair as a plan step. Pure:
 * the command observes sharing and unknown AMIs, this decides.
 *
 * Checked: `latest` exists in every region of the image; every parameter of
 * the image (`latest`, `versions/<v>`, channels, major lines) names an
 * available AMI tagged with the image (and, for `versions/<v>`, with that
 * version); every AMI a parameter names is shared exactly as the definition
 * says (launch permissions: accounts, organisations, OUs, public), and so are
 * its snapshots (create-volume permissions); and, where the definition asks
 * for encryption, every EBS volume of those AMIs is encrypted with its key. In each distribution account, as its
 * role: its parameters name available copies of the image, no pointer a revoked one, and every copy is where its
 * source is in its life (revoked, deprecated, disabled, restored).
 */
import semver from 'semver';
import type { SharingPermissions } from '../adapters/ec2.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory, ObservedAmi } from '../observe/inventory.ts';
import { imageState, type ImageState } from '../plan/image-state.ts';
import { imageParameters, withInventoryIndex } from '../plan/inventory-slices.ts';
import { imageParameterPath, latestParameterName, versionFromParameterName } from '../plan/parameter-names.ts';
import { accountImageState } from '../plan/plan-account-lifecycle.ts';
import { describeGrantees, expectedLaunchPermissions, expectedVolumePermissions, launchSharingChange, noSharing as none, volumeSharingChange, type VolumePermissions } from '../plan/plan-sharing.ts';

export type { VolumePermissions };

/** What the command read besides the inventory, per region. */
export interface ObservedSharing {
  /** AMI → its launch permissions (every AMI a parameter of an audited image names that is that image's). */
  readonly launch: Readonly<Record<string, SharingPermissions>>;
  /** Snapshot → its create-volume permissions. */
  readonly volumes: Readonly<Record<string, VolumePermissions>>;
  /** AMIs a parameter names that are not gild AMIs: those that exist, by ID (the rest do not exist). */
  readonly otherAmis: Readonly<Record<string, { readonly state: string }>>;
  /** AMI → its EBS volumes' encryption (the same AMIs as `launch`). */
  readonly volumeEncryption?: Readonly<Record<string, readonly VolumeEncryption[]>>;
}

export interface VolumeEncryption {
  readonly device: string;
  readonly snapshotId: string | undefined;
  readonly encrypted: boolean;
  readonly kmsKeyId: string | undefined;
}

export type RepairStep =
  | { readonly kind: 'put-parameter'; readonly region: string; readonly name: string; readonly value: string; readonly expected: string | undefined }
  | { readonly kind: 'launch-permissions'; readonly region: string; readonly amiId: string; readonly add: SharingPermissions; readonly remove: SharingPermissions }
  | { readonly kind: 'volume-permissions'; readonly region: string; readonly snapshotId: string; readonly add: VolumePermissions; readonly remove: VolumePermissions };

export interface Finding {
  readonly image: string;
  readonly region: string;
  /** The AMI, snapshot or parameter that differs. */
  readonly resource: string;
  readonly difference: string;
  /** The command that repairs it. */
  readonly repairCommand: string;
  /** What `gild verify --repair` does; absent when gild cannot tell what is right. */
  readonly repair: RepairStep | undefined;
}

export const verifySchemaVersion = 1;

export interface AuditResult {
  readonly schema: typeof verifySchemaVersion;
  readonly observedAt: string;
  readonly images: readonly string[];
  readonly findings: readonly Finding[];
}

const noAmis: readonly ObservedAmi[] = [];

interface AuditInput {
  readonly inventory: Inventory;
  readonly images: readonly ResolvedImage[];
  readonly sharing: Readonly<Record<string, ObservedSharing>>;
}

export function auditImages(input: AuditInput): AuditResult {
  // Every image's state and parameters read its slice of the inventory: indexed once for the whole audit, as in a plan's assembly.
  return withInventoryIndex(input.inventory, () => auditIndexed(input));
}

function auditIndexed(input: AuditInput): AuditResult {
  const findings: Finding[] = [];
  // Any AMI of a region by ID (a pointer may name another image's): one map per region's AMIs, shared by every image.
  const byId = new Map<readonly ObservedAmi[], ReadonlyMap<string, ObservedAmi>>();
  const amisById = (amis: readonly ObservedAmi[]) => {
    let map = byId.get(amis);
    if (!map) byId.set(amis, (map = new Map(amis.map((ami) => [ami.amiId, ami]))));
    return map;
  };
  for (const image of input.images) {
    const state = imageState(input.inventory, image.name, image.regions);
    const prefix = input.inventory.ssmPrefix;
    const latestName = latestParameterName(prefix, image.name);
    const rebuild = `gild run ${image.name} --force`;
    // The version `latest` should name: what it names where it is sound, else the newest published version.
    const latestVersions = image.regions.flatMap((region) => {
      const amiId = state.latest[region];
      const ami = amiId ? state.amis[region]?.find((candidate) => candidate.amiId === amiId) : undefined;
      return ami && ami.tags['gild:version'] ? [ami.tags['gild:version']] : [];
    });
    const intendedLatest = latestVersions.sort((a, b) => (semver.valid(a) && semver.valid(b) ? semver.rcompare(a, b) : 0))[0] ?? state.versions[0]?.version;

    for (const region of image.regions) {
      const sharing = input.sharing[region] ?? { launch: {}, volumes: {}, otherAmis: {} };
      const amis = amisById(input.inventory.regions[region]?.amis ?? noAmis);
      const own = (version: string) => state.amis[region]?.find((ami) => ami.tags['gild:version'] === version && ami.state === 'available' && ami.tags['gild:status'] !== 'failed');
      const add = (resource: string, difference: string, repairCommand: string, repair?: RepairStep) => findings.push({ image: image.name, region, resource, difference, repairCommand, repair });
      const repairLatest = (current: string | undefined): RepairStep | undefined => {
        const target = intendedLatest ? own(intendedLatest) : undefined;
        return target && target.amiId !== current ? { kind: 'put-parameter', region, name: latestName, value: target.amiId, expected: current } : undefined;
      };

      if (state.latest[region] === undefined) {
        const repair = repairLatest(undefined);
        const target = repair?.kind === 'put-parameter' ? ` (it should name ${intendedLatest}, ${repair.value})` : '';
        add(latestName, `missing${target}`, repair ? 'gild verify --repair' : rebuild, repair);
      }

      // Each of these names is under `<prefix>/<image>/`: the image's own parameters, in inventory order, hold them all.
      const parameters = imageParameters(input.inventory, region, image.name).filter(
        (parameter) => parameter.name === latestName || parameter.name in (state.pointers[region] ?? {}) || versionFromParameterName(prefix, image.name, parameter.name) !== undefined,
      );
      for (const parameter of parameters) {
        if (parameter.name.endsWith('/lock')) continue;
        const version = versionFromParameterName(prefix, image.name, parameter.name);
        const ami = amis.get(parameter.value);
        const problem = pointerProblem(image.name, version, parameter.value, ami, sharing.otherAmis[parameter.value]);
        if (!problem) continue;
        const repair = version !== undefined ? putIfKnown(region, parameter.name, own(version)?.amiId, parameter.value) : parameter.name === latestName ? repairLatest(parameter.value) : undefined;
        add(
          parameter.name,
          problem,
          repair ? 'gild verify --repair' : version !== undefined ? rebuild : `aws ssm put-parameter --overwrite --region ${region} --name ${parameter.name} --value <an AMI of ${image.name}>`,
          repair,
        );
      }

      const named = [...new Set(parameters.map((parameter) => parameter.value))].flatMap((amiId) => {
        const ami = amis.get(amiId);
        return ami && ami.tags['gild:image'] === image.name ? [ami] : [];
      });
      for (const ami of named) findings.push(...sharingFindings(image, region, ami, sharing), ...encryptionFindings(image, region, ami, sharing));
    }
    findings.push(...accountFindings(image, input.inventory, state, amisById));
  }
  return { schema: verifySchemaVersion, observedAt: input.inventory.observedAt, images: input.images.map((image) => image.name), findings };
}

/**
 * The distribution accounts, read as their roles: every parameter of the image there names a copy of the image (of
 * that version, for `versions/<v>`) that is available, no pointer names a revoked copy, and each copy is where its
 * source is in its life (revoked, deprecated, disabled, restored). gild moves nothing there from verify: the next
 * command of the image finishes what a revoke, restore or retirement left (their steps are planned until done).
 */
function accountFindings(image: ResolvedImage, inventory: Inventory, state: ImageState, amisById: (amis: readonly ObservedAmi[]) => ReadonlyMap<string, ObservedAmi>): Finding[] {
  const findings: Finding[] = [];
  const prefix = inventory.ssmPrefix;
  const path = `${imageParameterPath(prefix, image.name)}/`;
  const next = `gild run ${image.name}`;
  for (const target of image.distribution) {
    const where = `account ${target.account}`;
    const observed = inventory.accounts?.[target.roleArn];
    const add = (region: string, resource: string, difference: string, repairCommand = next) =>
      findings.push({ image: image.name, region, resource: `${where} ${resource}`, difference, repairCommand, repair: undefined });
    if (observed?.kind !== 'observed') {
      add(target.regions[0] ?? image.buildRegion, target.roleArn, `could not be read: ${observed?.reason ?? 'it was not observed'}`, `gild doctor (can ${target.roleArn} be assumed?)`);
      continue;
    }
    const held = accountImageState(inventory, observed, image.name, target.regions);
    for (const region of target.regions) {
      const gildAmis = amisById(observed.regions[region]?.amis ?? noAmis);
      if (state.versions.some((published) => published.amis[region]) && held.latest[region] === undefined) add(region, `${path}latest`, 'missing: the building account publishes this image here');
      const parameters = [
        ...held.versions.flatMap((published) => (published.amis[region] ? [{ name: `${path}versions/${published.version}`, value: published.amis[region], version: published.version }] : [])),
        ...Object.entries(held.pointers[region] ?? {}).map(([name, value]) => ({ name, value, version: undefined })),
      ];
      for (const parameter of parameters) {
        const ami = gildAmis.get(parameter.value);
        const problem = ami ? pointerProblem(image.name, parameter.version, parameter.value, ami, undefined) : `names ${parameter.value}, which is no gild AMI of ${image.name} in ${where}`;
        if (problem) add(region, parameter.name, problem);
        else if (parameter.version === undefined && ami?.tags['gild:status'] === 'revoked')
          add(region, parameter.name, `names the revoked copy of ${ami.tags['gild:version'] ?? '?'} (${ami.amiId}: ${ami.tags['gild:revoked-reason'] ?? 'no reason recorded'})`);
      }
      for (const copy of held.amis[region] ?? []) {
        const source = state.amis[region]?.find((ami) => ami.amiId === copy.tags['gild:source-ami']);
        if (!source || copy.state === 'deregistered' || ['failed', 'retiring'].includes(copy.tags['gild:status'] ?? '')) continue;
        const version = copy.tags['gild:version'] ?? '?';
        const sourceRevoked = source.tags['gild:status'] === 'revoked';
        const copyRevoked = copy.tags['gild:status'] === 'revoked';
        if (sourceRevoked && !copyRevoked) add(region, copy.amiId, `the copy of ${version} is not revoked, but its source ${source.amiId} is`);
        if (!sourceRevoked && copyRevoked && source.tags['gild:status'] === 'published')
          add(region, copy.amiId, `the copy of ${version} is still revoked, but its source ${source.amiId} was restored`);
        for (const [stamp, phase] of [
          ['gild:deprecated-at', 'deprecated'],
          ['gild:disabled-at', 'disabled'],
        ] as const) {
          if (source.tags[stamp] !== undefined && copy.tags[stamp] === undefined) add(region, copy.amiId, `the copy of ${version} is not ${phase}, but its source ${source.amiId} is`);
        }
      }
    }
  }
  return findings;
}

function putIfKnown(region: string, name: string, value: string | undefined, current: string): RepairStep | undefined {
  return value && value !== current ? { kind: 'put-parameter', region, name, value, expected: current } : undefined;
}

function pointerProblem(imageName: string, version: string | undefined, amiId: string, ami: ObservedAmi | undefined, other: { state: string } | undefined): string | undefined {
  if (!ami) return other ? `names ${amiId}, which is not an AMI of ${imageName} (no gild:image tag)` : `names ${amiId}, which does not exist`;
  if (ami.tags['gild:image'] !== imageName) return `names ${amiId}, an AMI of ${ami.tags['gild:image']} ${ami.tags['gild:version'] ?? ''}`.trimEnd();
  if (version !== undefined && ami.tags['gild:version'] !== version) return `names ${amiId}, which is ${imageName} ${ami.tags['gild:version'] ?? '(no version tag)'}, not ${version}`;
  if (ami.state !== 'available') return `names ${amiId}, which is ${ami.state}`;
  return undefined;
}

function sharingFindings(image: ResolvedImage, region: string, ami: ObservedAmi, sharing: ObservedSharing): Finding[] {
  const findings: Finding[] = [];
  const launch = sharing.launch[ami.amiId];
  if (launch) {
    const change = launchSharingChange(expectedLaunchPermissions(image), launch);
    const differences = describeChange(change, 'launch');
    if (differences)
      findings.push({
        image: image.name,
        region,
        resource: ami.amiId,
        difference: differences,
        repairCommand: 'gild verify --repair',
        repair: { kind: 'launch-permissions', region, amiId: ami.amiId, ...change },
      });
  }
  for (const snapshotId of ami.snapshotIds) {
    const volumes = sharing.volumes[snapshotId];
    if (!volumes) continue;
    const change = volumeSharingChange(expectedVolumePermissions(image), volumes);
    const differences = describeChange({ add: { ...none, ...change.add }, remove: { ...none, ...change.remove } }, 'create volumes from');
    if (differences)
      findings.push({
        image: image.name,
        region,
        resource: `${snapshotId} (snapshot of ${ami.amiId})`,
        difference: differences,
        repairCommand: 'gild verify --repair',
        repair: { kind: 'volume-permissions', region, snapshotId, ...change },
      });
  }
  return findings;
}

/**
 * An AMI's volumes cannot be re-encrypted in place: the repair is a new
 * version built as defined. Keys are compared only where both name a key the
 * same way (an alias and a key ID cannot be matched without KMS).
 */
function encryptionFindings(image: ResolvedImage, region: string, ami: ObservedAmi, sharing: ObservedSharing): Finding[] {
  const volumes = sharing.volumeEncryption?.[ami.amiId];
  if (!image.encryption || !volumes) return [];
  const key = image.encryption.regionKmsKeyIds[region] ?? image.encryption.kmsKeyId;
  const repairCommand = `gild run ${image.name} --force`;
  return volumes.flatMap((volume): Finding[] => {
    const resource = `${ami.amiId} ${volume.device}${volume.snapshotId ? ` (${volume.snapshotId})` : ''}`;
    if (!volume.encrypted) return [{ image: image.name, region, resource, difference: `not encrypted, but the definition says encrypted with ${key}`, repairCommand, repair: undefined }];
    if (volume.kmsKeyId && comparableKeys(volume.kmsKeyId, key) && keyId(volume.kmsKeyId) !== keyId(key)) {
      return [{ image: image.name, region, resource, difference: `encrypted with ${volume.kmsKeyId}, but the definition says ${key}`, repairCommand, repair: undefined }];
    }
    return [];
  });
}

const isAlias = (key: string) => key.startsWith('alias/') || key.includes(':alias/');
const comparableKeys = (a: string, b: string) => isAlias(a) === isAlias(b);
/** `arn:aws:kms:…:key/1234…` and `1234…` name the same key. */
const keyId = (key: string) => key.replace(/^arn:aws[a-z-]*:kms:[^:]*:\d*:/, '').replace(/^key\//, '');

function describeChange(change: { add: SharingPermissions; remove: SharingPermissions }, what: string): string | undefined {
  const extra = describeGrantees(change.remove);
  const missing = describeGrantees(change.add);
  const parts = [
    ...(extra.length > 0 ? [`${extra.join(', ')} may ${what} it, but the definition does not say so`] : []),
    ...(missing.length > 0 ? [`${missing.join(', ')} may not ${what} it, but the definition says so`] : []),
  ];
  return parts.length > 0 ? parts.join('; ') : undefined;
}

export function formatAudit(result: AuditResult): string {
  if (result.findings.length === 0)
    return `verified ${result.images.join(', ')}: every pointer names an available AMI of its image and version, and every AMI and snapshot is shared exactly as defined\n`;
  const lines = [`${result.findings.length} finding${result.findings.length === 1 ? '' : 's'}:`];
  for (const finding of result.findings) lines.push(`  ${finding.image} ${finding.region} ${finding.resource}: ${finding.difference}`, `      repair: ${finding.repairCommand}`);
  return `${lines.join('\n')}\n`;
}

export function formatRepairPlan(steps: readonly RepairStep[]): string {
  const lines = [`Repair plan (${steps.length} step${steps.length === 1 ? '' : 's'}):`];
  for (const step of steps) {
    switch (step.kind) {
      case 'put-parameter':
        lines.push(`  ${step.region} set ${step.name} = ${step.value} (now ${step.expected ?? 'missing'}; only if it still is)`);
        break;
      case 'launch-permissions':
        lines.push(`  ${step.region} ${step.amiId} launch permissions: ${describePermissionChange(step.add, step.remove)}`);
        break;
      case 'volume-permissions':
        lines.push(`  ${step.region} ${step.snapshotId} create-volume permissions: ${describePermissionChange({ ...none, ...step.add }, { ...none, ...step.remove })}`);
        break;
    }
  }
  return `${lines.join('\n')}\n`;
}

function describePermissionChange(add: SharingPermissions, remove: SharingPermissions): string {
  const list = (permissions: SharingPermissions) => [...permissions.groups, ...permissions.accounts, ...permissions.organizationArns, ...permissions.organizationalUnitArns].join(', ');
  return [list(remove) ? `remove ${list(remove)}` : '', list(add) ? `add ${list(add)}` : ''].filter(Boolean).join('; ');
}
