/**
 * `gild status` as data: per image and region, what each pointer names, and
 * every use of a gild AMI with how far behind `latest` it is and how old it
 * is. Revoked versions in use come first, because someone must act on them.
 * Pure: the command observes, this decides.
 */
import semver from 'semver';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory, ObservedAmi } from '../observe/inventory.ts';
import { imageState, type ImageState } from '../plan/image-state.ts';
import { withInventoryIndex } from '../plan/inventory-slices.ts';
import { accountImageState } from '../plan/plan-account-lifecycle.ts';
import { binVerdict, type BinVerdict } from '../plan/recycle-bin.ts';

export const statusSchemaVersion = 1;

/** fresh < 14 days, turning < 30 days, old after: how long since the version was published. */
export type AgeBand = 'fresh' | 'turning' | 'old';

export interface PointerStatus {
  readonly name: string;
  readonly amiId: string;
  readonly version: string | undefined;
}

export interface AmiInUse {
  readonly image: string;
  /** The distribution account it is a copy in; absent in the building account. */
  readonly account?: string;
  readonly region: string;
  readonly amiId: string;
  readonly version: string | undefined;
  readonly revoked: boolean;
  readonly revokedReason: string | undefined;
  /** Built on a revoked version (`gild:base-revoked`: which, and why), though not revoked itself. */
  readonly baseRevoked: string | undefined;
  /** Published versions newer than this one in the region. */
  readonly versionsBehind: number;
  /** Days between this version's publication and `latest`'s. */
  readonly daysBehind: number;
  readonly ageDays: number;
  readonly ageBand: AgeBand;
  /** Who uses it, in words (`instance i-0123 (running)`, `launch template web v3`, `auto scaling group …`). */
  readonly users: readonly string[];
}

export interface RegionStatus {
  readonly region: string;
  readonly latest: PointerStatus | undefined;
  /** Every other pointer (channels, major lines), by parameter name. */
  readonly pointers: readonly PointerStatus[];
  readonly inUse: readonly AmiInUse[];
  /** In a distribution account: its copies tagged revoked (following their source's revoke). */
  readonly revokedCopies?: readonly { readonly version: string | undefined; readonly amiId: string }[];
  /**
   * Whether a retired version of this image could be brought back here: what the Recycle Bin's retention rules keep of
   * its AMIs and snapshots (src/plan/recycle-bin.ts). Absent where the target has no Recycle Bin to ask.
   */
  readonly recycleBin?: { readonly kind: BinVerdict['kind']; readonly text: string };
}

export interface ImageStatus {
  readonly image: string;
  readonly regions: readonly RegionStatus[];
  /** Its distribution accounts (`distribution.accounts`), each read as its role; absent when it has none. */
  readonly accounts?: readonly AccountStatus[];
}

/** A distribution account's pointers, uses and revoked copies of the image, per region; or why it could not be read. */
export interface AccountStatus {
  readonly account: string;
  readonly unreadable?: string;
  readonly regions: readonly RegionStatus[];
}

export interface FleetStatus {
  readonly schema: typeof statusSchemaVersion;
  readonly observedAt: string;
  /** Every revoked version still in use, across images: act on these first. */
  readonly revokedInUse: readonly AmiInUse[];
  /** Every version in use built on a revoked version (and not revoked itself): the teams on it should move. */
  readonly baseRevokedInUse: readonly AmiInUse[];
  readonly images: readonly ImageStatus[];
}

const dayMs = 86_400_000;

export function ageBand(ageDays: number): AgeBand {
  return ageDays < 14 ? 'fresh' : ageDays < 30 ? 'turning' : 'old';
}

/** When a version went out: the publish stamp, or the AMI's creation for AMIs published before gild stamped it. */
const publishedAt = (ami: ObservedAmi): number => Date.parse(ami.tags['gild:published-at'] ?? ami.createdAt);

export interface StatusInput {
  readonly inventory: Inventory;
  readonly images: readonly ResolvedImage[];
  /** Per region: AMI ID → who uses it. */
  readonly references: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  /** The same, in each distribution account, by account ID; an account left out is shown without its uses. */
  readonly accountReferences?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>>>;
  readonly now: Date;
}

export function assembleStatus(input: StatusInput): FleetStatus {
  // Every image's state reads its slice of the inventory: indexed once for the whole status, as in a plan's assembly.
  return withInventoryIndex(input.inventory, () => assembleIndexed(input));
}

function assembleIndexed(input: StatusInput): FleetStatus {
  const images = input.images.map((image): ImageStatus => {
    const state = imageState(input.inventory, image.name, image.regions);
    const accounts = image.distribution.map((target): AccountStatus => {
      const observed = input.inventory.accounts?.[target.roleArn];
      if (observed?.kind !== 'observed') return { account: target.account, unreadable: observed?.reason ?? 'it was not observed', regions: [] };
      const held = accountImageState(input.inventory, observed, image.name, target.regions);
      const users = input.accountReferences?.[target.account] ?? {};
      return { account: target.account, regions: target.regions.map((region) => regionStatus(image.name, held, region, users[region] ?? {}, input.now, target.account)) };
    });
    return {
      image: image.name,
      regions: image.regions.map((region) => ({ ...regionStatus(image.name, state, region, input.references[region] ?? {}, input.now, undefined), ...recycleBinOf(input.inventory, region, image) })),
      ...(accounts.length > 0 ? { accounts } : {}),
    };
  });
  const everyRegion = (image: ImageStatus) => [...image.regions, ...(image.accounts ?? []).flatMap((account) => account.regions)];
  return {
    schema: statusSchemaVersion,
    observedAt: input.inventory.observedAt,
    revokedInUse: images.flatMap((image) => everyRegion(image).flatMap((region) => region.inUse.filter((use) => use.revoked))),
    baseRevokedInUse: images.flatMap((image) => everyRegion(image).flatMap((region) => region.inUse.filter((use) => !use.revoked && use.baseRevoked !== undefined))),
    images,
  };
}

/** One region of the building account, or of a distribution account (`account`) read the same way. */
function regionStatus(imageName: string, state: ImageState, region: string, users: Readonly<Record<string, readonly string[]>>, now: Date, account: string | undefined): RegionStatus {
  const amis = new Map((state.amis[region] ?? []).map((ami) => [ami.amiId, ami]));
  const versionOf = (amiId: string) => amis.get(amiId)?.tags['gild:version'] ?? state.versions.find((version) => version.amis[region] === amiId)?.version;
  const pointer = (name: string, amiId: string): PointerStatus => ({ name, amiId, version: versionOf(amiId) });
  const latestAmiId = state.latest[region];
  const latestAmi = latestAmiId ? amis.get(latestAmiId) : undefined;
  const latestVersion = latestAmiId ? versionOf(latestAmiId) : undefined;
  const published = state.versions.filter((version) => version.amis[region]).map((version) => version.version);
  const inUse = [...amis.values()]
    .filter((ami) => (users[ami.amiId] ?? []).length > 0)
    .map((ami): AmiInUse => {
      const version = ami.tags['gild:version'];
      const ageDays = Math.max(0, Math.floor((now.getTime() - publishedAt(ami)) / dayMs));
      return {
        image: imageName,
        ...(account ? { account } : {}),
        region,
        amiId: ami.amiId,
        version,
        revoked: ami.tags['gild:status'] === 'revoked',
        revokedReason: ami.tags['gild:revoked-reason'],
        baseRevoked: ami.tags['gild:base-revoked'],
        versionsBehind: version && semver.valid(version) ? published.filter((other) => semver.gt(other, version)).length : 0,
        daysBehind: latestAmi && latestAmi.amiId !== ami.amiId ? Math.max(0, Math.floor((publishedAt(latestAmi) - publishedAt(ami)) / dayMs)) : 0,
        ageDays,
        ageBand: ageBand(ageDays),
        users: [...(users[ami.amiId] ?? [])].sort(),
      };
    })
    .sort((a, b) => Number(b.revoked) - Number(a.revoked) || b.versionsBehind - a.versionsBehind || a.amiId.localeCompare(b.amiId));
  // A distribution account's revoked copies are listed even when nothing uses them: they follow their source's revoke.
  const revokedCopies = account ? [...amis.values()].filter((ami) => ami.tags['gild:status'] === 'revoked').map((ami) => ({ version: ami.tags['gild:version'], amiId: ami.amiId })) : [];
  return {
    region,
    latest: latestAmiId ? { name: 'latest', amiId: latestAmiId, version: latestVersion } : undefined,
    pointers: Object.entries(state.pointers[region] ?? {})
      .filter(([name]) => !name.endsWith('/latest'))
      .map(([name, amiId]) => pointer(name, amiId))
      .sort((a, b) => a.name.localeCompare(b.name)),
    inUse,
    ...(revokedCopies.length > 0 ? { revokedCopies } : {}),
  };
}

/** What the region's retention rules keep of the image's AMIs as retirement deregisters them (tagged retiring). */
function recycleBinOf(inventory: Inventory, region: string, image: ResolvedImage): Pick<RegionStatus, 'recycleBin'> {
  const sight = inventory.regions[region]?.recycleBin;
  if (!sight) return {};
  const { kind, text } = binVerdict(sight, { ...image.tags, 'gild:image': image.name, 'gild:status': 'retiring' });
  return { recycleBin: { kind, text: `a retired version: ${text}` } };
}

export function formatStatus(status: FleetStatus): string {
  const lines: string[] = [];
  if (status.revokedInUse.length > 0) {
    lines.push(`REVOKED VERSIONS IN USE (${status.revokedInUse.length}):`);
    for (const use of status.revokedInUse)
      lines.push(`  ✖ ${use.image} ${use.version ?? '?'} ${where(use)}${use.region} ${use.amiId}${use.revokedReason ? ` (${use.revokedReason})` : ''}: ${use.users.join(', ')}`);
    lines.push('');
  }
  if (status.baseRevokedInUse.length > 0) {
    lines.push(`BUILT ON A REVOKED BASE, IN USE (${status.baseRevokedInUse.length}):`);
    for (const use of status.baseRevokedInUse) lines.push(`  ! ${use.image} ${use.version ?? '?'} ${where(use)}${use.region} ${use.amiId} (base ${use.baseRevoked}): ${use.users.join(', ')}`);
    lines.push('');
  }
  for (const image of status.images) {
    lines.push(image.image);
    const regions = [
      ...image.regions.map((region) => ({ label: region.region, region })),
      ...(image.accounts ?? []).flatMap((account) => (account.unreadable !== undefined ? [] : account.regions.map((region) => ({ label: `account ${account.account} ${region.region}`, region })))),
    ];
    for (const account of image.accounts ?? []) if (account.unreadable !== undefined) lines.push(`  account ${account.account}: could not be read (${account.unreadable})`);
    for (const { label, region } of regions) {
      const pointers = [
        region.latest ? `latest → ${describePointer(region.latest)}` : 'latest → (not published)',
        ...region.pointers.map((pointer) => `${pointer.name} → ${describePointer(pointer)}`),
      ];
      lines.push(`  ${label}: ${pointers.join('; ')}`);
      if (region.revokedCopies) lines.push(`    revoked copies: ${region.revokedCopies.map((copy) => `${copy.version ?? '?'} (${copy.amiId})`).join(', ')}`);
      if (region.recycleBin) lines.push(`    Recycle Bin: ${region.recycleBin.text}`);
      if (region.inUse.length === 0) lines.push('    no instance, Auto Scaling group or launch template uses a gild AMI of this image');
      for (const use of region.inUse) {
        const mark = use.revoked
          ? '✖ REVOKED'
          : use.baseRevoked !== undefined
            ? `! BASE REVOKED (${use.baseRevoked})`
            : use.versionsBehind === 0
              ? '✔ current'
              : `${use.versionsBehind} version${use.versionsBehind === 1 ? '' : 's'} behind (${use.daysBehind} days)`;
        lines.push(`    ${use.version ?? '?'} ${use.amiId}: ${mark}; ${use.ageBand}, published ${use.ageDays} days ago; used by ${use.users.join(', ')}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

const where = (use: AmiInUse) => (use.account ? `account ${use.account} ` : '');
const describePointer = (pointer: PointerStatus) => `${pointer.version ?? 'not a gild AMI of this image'} (${pointer.amiId})`;
