/**
 * Copies in other accounts (`distribution.accounts`) follow their source's revoke and restore, pure, from what was
 * observed there as each account's role:
 *
 * - revoke: each copy of the revoked version is recorded revoked there (`account-revoke … record`: tags and that
 *   account's `status/<v>`, so its own `gild resolve` refuses it), after the building account recorded the revoke;
 *   then every pointer there naming such a copy (`latest`, any `v<major>`, a channel) moves by the building account's
 *   rules to that account's copy of the replacement (`account-repoint`); then the copy is deprecated (disabled with
 *   `--disable`) like its source.
 * - restore: each copy still revoked is restored there after the building account's ledger records the restore, and
 *   `latest` and `v<major>` there move back to it where it is the newest good version, as in the building account.
 *
 * Planned again by every later command until done, so a crash, or an account that could not be read, is finished by
 * whatever command comes next; what is done is not planned again.
 */
import semver from 'semver';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { AccountInventory, Inventory, ObservedAmi } from '../observe/inventory.ts';
import { describeHold, imageState, type ImageState, type PublishedVersionState } from './image-state.ts';
import { imageParameterPath } from './parameter-names.ts';
import type { KeptResource, PlanStep, PointerMove, StepOfKind } from './run-plan.ts';

const dayMs = 86_400_000;

/** A distribution account's holdings of one image, read as the building account's are: its pointers, versions, statuses, copies. */
export function accountImageState(inventory: Inventory, observed: Extract<AccountInventory, { kind: 'observed' }>, imageName: string, regions: readonly string[]): ImageState {
  const asInventory: Inventory = {
    ...inventory,
    regions: Object.fromEntries(
      Object.entries(observed.regions).map(([region, held]) => [
        region,
        { region, parameters: held.parameters, amis: held.amis, instances: [], temporaryResources: [], snapshots: [], references: {} },
      ]),
    ),
  };
  return imageState(asInventory, imageName, regions);
}

/** Copies that are still the account's (not failed, not being retired, not gone). */
const liveCopy = (ami: ObservedAmi) => ami.state !== 'deregistered' && !['failed', 'retiring'].includes(ami.tags['gild:status'] ?? '');

/** The account's copy of a version in a region that a pointer may name: its `versions/<v>` names it, available, not revoked. */
function usableCopy(held: ImageState, region: string, version: string): string | undefined {
  const amiId = held.versions.find((candidate) => candidate.version === version)?.amis[region];
  const ami = held.amis[region]?.find((candidate) => candidate.amiId === amiId);
  if (!ami || ami.state !== 'available' || ami.tags['gild:version'] !== version || ami.tags['gild:status'] === 'revoked' || !liveCopy(ami)) return undefined;
  return ami.amiId;
}

type Target = ResolvedImage['distribution'][number];

/** Each observed account, or a note saying which could not be read and what waits for it. */
function eachAccount(image: ResolvedImage, inventory: Inventory, version: string, what: string, notes: KeptResource[], visit: (target: Target, held: ImageState) => void): void {
  for (const target of image.distribution) {
    const observed = inventory.accounts?.[target.roleArn];
    if (!observed) continue;
    if (observed.kind === 'unreachable') {
      notes.push({
        image: image.name,
        region: target.regions[0] ?? image.buildRegion,
        amiId: `account ${target.account}`,
        version,
        reason: `account ${target.account} could not be read (${observed.reason}): its copies of ${version} ${what} in the next command that can read it`,
      });
      continue;
    }
    visit(target, accountImageState(inventory, observed, image.name, target.regions));
  }
}

export interface AccountRevocationInput {
  readonly image: ResolvedImage;
  /** The building account's state of the image. */
  readonly state: ImageState;
  readonly inventory: Inventory;
  readonly now: Date;
  readonly channels: Readonly<Record<string, { readonly soakDays: number }>>;
  readonly version: string;
  readonly reason: string;
  readonly by: string;
  readonly disable: boolean;
  readonly replacement: string | undefined;
  /** The building account's good versions (not revoked, nor revoked by the same plan), newest first. */
  readonly good: readonly PublishedVersionState[];
  /** When each version was published, in ms (its build region's stamp), for a channel's soak. */
  readonly publishedAt: (version: string) => number | undefined;
  /** The steps the account's record waits for: the lock and the building account's record. */
  readonly after: readonly string[];
  readonly finishing: boolean;
}

export function planAccountRevocation(input: AccountRevocationInput): { steps: PlanStep[]; notes: KeptResource[] } {
  const { image, version } = input;
  const steps: PlanStep[] = [];
  const notes: KeptResource[] = [];
  const lead = input.finishing ? 'finish the revoke that stopped half-way: ' : '';
  eachAccount(image, input.inventory, version, 'are revoked', notes, (target, held) => {
    const common = { image: image.name, version, account: target.account, roleArn: target.roleArn } as const;
    const copies = target.regions.flatMap((region) => (held.amis[region] ?? []).filter((ami) => ami.tags['gild:version'] === version && liveCopy(ami)).map((ami) => ({ region, ami })));
    if (copies.length === 0) return;
    const many = (region: string) => copies.filter((copy) => copy.region === region).length > 1;
    const idOf = (region: string, amiId: string) => `account-revoke:${image.name}:${target.account}:${version}:${region}${many(region) ? `:${amiId}` : ''}`;
    const revoked = new Set(copies.map((copy) => copy.ami.amiId));

    const recordIds: string[] = [];
    for (const { region, ami } of copies) {
      if (ami.tags['gild:status'] === 'revoked' && held.statuses[region]?.[version]?.revoked !== undefined) continue;
      const id = idOf(region, ami.amiId);
      recordIds.push(id);
      steps.push({
        id,
        kind: 'account-revoke',
        ...common,
        region,
        amiId: ami.amiId,
        phase: 'record',
        revokedReason: input.reason,
        disable: input.disable,
        by: input.by,
        ...(input.replacement ? { replacement: input.replacement } : {}),
        after: [...input.after],
        reason: `${lead}account ${target.account} follows the revoke of ${version} (${input.reason}): tag its copy ${ami.amiId} revoked and write status/${version} there, so that its own resolve refuses it, before any pointer there moves`,
        precondition: `${ami.amiId} still exists in account ${target.account}`,
      } satisfies StepOfKind<'account-revoke'>);
    }

    // Every pointer there naming a revoked copy, by pointer: the regions where it does.
    const path = `${imageParameterPath(input.inventory.ssmPrefix, image.name)}/`;
    const naming = new Map<string, { region: string; name: string; previous: string }[]>();
    for (const region of target.regions) {
      for (const [name, amiId] of Object.entries(held.pointers[region] ?? {})) {
        if (!revoked.has(amiId)) continue;
        const pointer = name.slice(path.length);
        naming.set(pointer, [...(naming.get(pointer) ?? []), { region, name, previous: amiId }]);
      }
    }
    const repointIds: string[] = [];
    for (const [pointer, places] of [...naming.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const note = (text: string) => {
        for (const place of places)
          notes.push({ image: image.name, region: place.region, amiId: place.previous, version, reason: `${pointer} in account ${target.account} still names the revoked copy: ${text}` });
      };
      const hold = Object.hasOwn(input.state.holds, pointer) ? input.state.holds[pointer] : undefined;
      if (hold) {
        note(`${describeHold(pointer, hold)} in the building account; \`gild release\` it to let the revoke move it`);
        continue;
      }
      const major = /^v(\d+)$/.exec(pointer)?.[1];
      const channel = pointer.startsWith('channels/') ? pointer.slice('channels/'.length) : undefined;
      const soakDays = channel !== undefined && Object.hasOwn(input.channels, channel) ? input.channels[channel]!.soakDays : 0;
      const candidates = input.good.filter((candidate) => {
        if (major !== undefined && semver.major(candidate.version) !== Number(major)) return false;
        if (channel === undefined) return true;
        return (input.now.getTime() - (input.publishedAt(candidate.version) ?? input.now.getTime())) / dayMs >= soakDays;
      });
      const replacement = candidates.find((candidate) => places.every((place) => usableCopy(held, place.region, candidate.version) !== undefined));
      if (!replacement) {
        note(
          candidates.length === 0
            ? channel !== undefined
              ? `no good version has soaked the ${soakDays} days ${channel} asks; run \`gild promote\` in the building account once one has`
              : `there is no good version${major === undefined ? '' : ` of ${major}.x`} to move it to; publish one first`
            : `account ${target.account} has no published copy of ${candidates.map((candidate) => candidate.version).join(' or ')} in ${places.map((place) => place.region).join(', ')} yet; the next \`gild run\` distributes one`,
        );
        continue;
      }
      const moves: PointerMove[] = places.map((place) => ({ region: place.region, name: place.name, amiId: usableCopy(held, place.region, replacement.version)!, previous: place.previous }));
      const id = `account-repoint:${image.name}:${target.account}:${pointer}`;
      repointIds.push(id);
      steps.push({
        id,
        kind: 'account-repoint',
        ...common,
        version: replacement.version,
        pointer,
        moves,
        after: [...input.after, ...recordIds],
        reason: `${lead}it names the copy of the revoked ${version} in account ${target.account}: move it, as in the building account, to ${channel !== undefined ? 'the newest good version that has soaked' : 'the newest good version'}${major !== undefined ? ' of its major' : ''} with a copy there, ${replacement.version}`,
        precondition: `${pointer} in account ${target.account} still names ${version}'s copy in ${moves.map((move) => move.region).join(', ')}, and ${replacement.version}'s copies there are available and tagged gild:image=${image.name}, gild:version=${replacement.version}`,
      } satisfies StepOfKind<'account-repoint'>);
    }

    for (const { region, ami } of copies) {
      const deprecated = ami.tags['gild:deprecated-at'] !== undefined || ami.deprecationTime !== undefined;
      const disabled = ami.tags['gild:disabled-at'] !== undefined || ami.state === 'disabled';
      if (deprecated && (!input.disable || disabled)) continue;
      steps.push({
        id: `${idOf(region, ami.amiId)}:deprecate`,
        kind: 'account-revoke',
        ...common,
        region,
        amiId: ami.amiId,
        phase: 'deprecate',
        revokedReason: input.reason,
        disable: input.disable,
        by: input.by,
        ...(input.replacement ? { replacement: input.replacement } : {}),
        after: [...input.after, ...recordIds, ...repointIds],
        reason: `${lead}no pointer in account ${target.account} moved by this plan names it any more: ${input.disable ? 'deprecate and disable' : 'deprecate'} the copy ${ami.amiId} now, as its source; it is kept while its source is`,
        precondition: `${ami.amiId} still exists in account ${target.account}`,
      } satisfies StepOfKind<'account-revoke'>);
    }
  });
  return { steps, notes };
}

export interface AccountRestoreInput {
  readonly image: ResolvedImage;
  readonly state: ImageState;
  readonly inventory: Inventory;
  readonly version: string;
  readonly reason: string;
  readonly by: string;
  readonly revoked: StepOfKind<'account-restore'>['revoked'];
  /** The building account's good versions once the version is back (it included), newest first. */
  readonly good: readonly PublishedVersionState[];
  /** What the account's restore waits for: the lock and the ledger's record of the restore. */
  readonly after: readonly string[];
  readonly finishing: string | undefined;
}

export function planAccountRestore(input: AccountRestoreInput): { steps: PlanStep[]; notes: KeptResource[] } {
  const { image, version } = input;
  const steps: PlanStep[] = [];
  const notes: KeptResource[] = [];
  const lead = input.finishing ? `${input.finishing}: ` : '';
  eachAccount(image, input.inventory, version, 'are restored', notes, (target, held) => {
    const common = { image: image.name, version, account: target.account, roleArn: target.roleArn } as const;
    const restoreIds: string[] = [];
    const copies: Record<string, string> = {};
    for (const region of target.regions) {
      for (const ami of (held.amis[region] ?? []).filter((candidate) => candidate.tags['gild:version'] === version && liveCopy(candidate))) {
        copies[region] ??= ami.amiId;
        if (ami.tags['gild:status'] !== 'revoked' && held.statuses[region]?.[version]?.revoked === undefined) continue;
        const id = `account-restore:${image.name}:${target.account}:${version}:${region}:${ami.amiId}`;
        restoreIds.push(id);
        steps.push({
          id,
          kind: 'account-restore',
          ...common,
          region,
          amiId: ami.amiId,
          restoredReason: input.reason,
          by: input.by,
          revoked: input.revoked,
          after: [...input.after],
          reason: `${lead}account ${target.account} follows the restore of ${version}: clear status/${version} there, re-enable and un-deprecate its copy ${ami.amiId}, tag it published`,
          precondition: `${ami.amiId} still exists in account ${target.account}, tagged ${image.name} ${version}, and retirement has not begun`,
        } satisfies StepOfKind<'account-restore'>);
      }
    }
    const path = `${imageParameterPath(input.inventory.ssmPrefix, image.name)}/`;
    for (const pointer of ['latest', `v${semver.major(version)}`]) {
      const newest = input.good.find((candidate) => pointer === 'latest' || semver.major(candidate.version) === semver.major(version));
      if (newest?.version !== version || Object.hasOwn(input.state.holds, pointer)) continue;
      const name = `${path}${pointer}`;
      // Only where its versions/<v> there names the copy: a copy the account never published is the next run's to publish.
      const moves: PointerMove[] = target.regions.flatMap((region) => {
        const amiId = copies[region];
        const published = held.versions.find((candidate) => candidate.version === version)?.amis[region] === amiId;
        return amiId && published && held.pointers[region]?.[name] !== amiId ? [{ region, name, amiId, previous: held.pointers[region]?.[name] }] : [];
      });
      if (moves.length === 0) continue;
      steps.push({
        id: `account-repoint:${image.name}:${target.account}:${pointer}`,
        kind: 'account-repoint',
        ...common,
        pointer,
        moves,
        after: [...input.after, ...restoreIds],
        reason: `${lead}${version} is restored and is the newest good version${pointer === 'latest' ? '' : ` of ${semver.major(version)}.x`}: move ${pointer} in account ${target.account} back to its copy, as in the building account`,
        precondition: `${pointer} in account ${target.account} still holds what was observed, and ${version}'s copies there are available and tagged gild:image=${image.name}, gild:version=${version}`,
      } satisfies StepOfKind<'account-repoint'>);
    }
  });
  return { steps, notes };
}
