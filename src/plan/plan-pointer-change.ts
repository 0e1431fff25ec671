/**
 * The plans of the lifecycle commands, assembled purely from the inventory:
 * `gild promote` (move a channel), `gild rollback` (move `latest` or a channel
 * back and hold it there), `gild release` (remove the hold). Each is the usual
 * trip: lock → repoint | hold → release, every step with its reason. A request
 * that cannot be honoured is refused with the reason, before anything moves.
 */
import semver from 'semver';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory } from '../observe/inventory.ts';
import { describeHold, imageState, type ImageState } from './image-state.ts';
import { holdParameterName, imageParameterPath, lockParameterName } from './parameter-names.ts';
import { planSchemaVersion, type PlanStep, type PointerMove, type RunPlan } from './run-plan.ts';

export type PointerChange =
  | { readonly kind: 'promote'; readonly channel: string; readonly version: string | undefined }
  | { readonly kind: 'rollback'; readonly pointer: string; readonly to: string | undefined; readonly reason: string }
  | { readonly kind: 'release'; readonly pointer: string }
  | { readonly kind: 'revoke'; readonly version: string; readonly reason: string; readonly disable: boolean };

export interface PointerChangeInput {
  readonly runId: string;
  readonly now: Date;
  readonly image: ResolvedImage;
  readonly inventory: Inventory;
  /** Declared channels → minimum days a version must have been published before it is promoted there. */
  readonly channels: Readonly<Record<string, { readonly soakDays: number }>>;
  /** Who asks, for the hold record (user@host). */
  readonly by: string;
  readonly change: PointerChange;
}

const dayMs = 86_400_000;

/** `latest` or `channels/<name>`, relative to the image's path; `--channel latest` and `--channel stable` both work. */
export const pointerOfChannel = (channel: string | undefined) => (channel === undefined || channel === 'latest' ? 'latest' : `channels/${channel}`);

export function planPointerChange(input: PointerChangeInput): { plan: RunPlan } | { refused: string } {
  const { image, inventory, change } = input;
  const prefix = inventory.ssmPrefix;
  const state = imageState(inventory, image.name, image.regions);
  const lease = inventory.leases[image.name] ?? { kind: 'free' };
  if (lease.kind === 'held' || lease.kind === 'unreadable') return { refused: `${image.name} is locked by ${lease.kind === 'held' ? `run ${lease.lease.runId}` : 'something that is not a gild lease'}; wait for that run, or remove a stale lock with \`gild unlock ${image.name} --yes\`` };
  const pointerName = (pointer: string) => `${imageParameterPath(prefix, image.name)}/${pointer}`;

  let reason: string;
  const changes: PlanStep[] = [];
  if (change.kind === 'revoke') {
    const planned = planRevocation(input, state, change);
    if ('refused' in planned) return planned;
    reason = `revoke ${change.version}: ${change.reason}`;
    changes.push(...planned.steps);
  } else if (change.kind === 'release') {
    const hold = state.holds[change.pointer];
    if (!hold) return { refused: `${change.pointer} of ${image.name} is not held; nothing to release` };
    const raw = inventory.regions[image.buildRegion]?.parameters.find((parameter) => parameter.name === holdParameterName(prefix, image.name, change.pointer))?.value;
    reason = `release ${describeHold(change.pointer, hold)}`;
    changes.push(holdStep(input, change.pointer, undefined, raw, `${reason}; ${change.pointer === 'latest' ? 'the next run moves latest to the newest version again' : 'promote moves the channel again'}`, []));
  } else {
    const pointer = change.kind === 'promote' ? pointerOfChannel(change.channel) : change.pointer;
    if (pointer.startsWith('channels/')) {
      const channel = pointer.slice('channels/'.length);
      if (!(channel in input.channels)) return { refused: `"${channel}" is not a channel in pipeline/settings.ts (declared: ${Object.keys(input.channels).join(', ') || 'none'}); add it under \`channels\`` };
    }
    const hold = state.holds[pointer];
    if (change.kind === 'promote' && hold) return { refused: `${describeHold(pointer, hold)}; run \`gild release ${image.name} --channel ${pointer.replace('channels/', '')}\` first` };
    const current = versionAt(state, image.buildRegion, state.pointers[image.buildRegion]?.[pointerName(pointer)]);
    const target = change.kind === 'promote' ? pickPromotion(input, state, change) : pickRollback(state, image, current, change.to);
    if ('refused' in target) return target;
    if (change.kind === 'promote') {
      const soakDays = input.channels[change.channel]!.soakDays;
      const publishedAt = publishedTime(state, image.buildRegion, target.version);
      const ageDays = publishedAt === undefined ? 0 : (input.now.getTime() - publishedAt) / dayMs;
      if (ageDays < soakDays) return { refused: `${target.version} has been published for ${Math.floor(ageDays)} days; ${change.channel} requires a soak of ${soakDays} days` };
    }
    const moves: PointerMove[] = image.regions.flatMap((region) => {
      const previous = state.pointers[region]?.[pointerName(pointer)];
      const amiId = target.amis[region]!;
      return previous === amiId ? [] : [{ region, name: pointerName(pointer), amiId, previous }];
    });
    reason = change.kind === 'promote' ? `promote ${target.version} to ${pointer}` : `roll ${pointer} back to ${target.version}${current ? ` from ${current}` : ''}: ${change.reason}`;
    if (moves.length > 0) {
      changes.push({
        id: `repoint:${image.name}:${pointer}`,
        kind: 'repoint',
        image: image.name,
        version: target.version,
        pointer,
        moves,
        after: [`lock:${image.name}`],
        reason,
        precondition: `${pointer} still holds what was observed in every region, and ${target.version}'s AMIs are available`,
      });
    }
    if (change.kind === 'rollback') {
      const value = JSON.stringify({ version: target.version, reason: change.reason, at: input.now.toISOString(), by: input.by });
      const raw = inventory.regions[image.buildRegion]?.parameters.find((parameter) => parameter.name === holdParameterName(prefix, image.name, pointer))?.value;
      changes.push(holdStep(input, pointer, value, raw, `no run moves ${pointer} until \`gild release ${image.name}${pointer === 'latest' ? '' : ` --channel ${pointer.replace('channels/', '')}`}\``, changes.map((step) => step.id)));
    }
    if (changes.length === 0) return { refused: `${pointer} of ${image.name} already points to ${target.version}` };
  }

  const lockName = lockParameterName(prefix, image.name);
  const steps: PlanStep[] = [
    { id: `lock:${image.name}`, kind: 'lock', image: image.name, region: image.buildRegion, parameterName: lockName, after: [], reason: `pointers of ${image.name} move only under its lock`, precondition: `${lockName} is free` },
    ...changes,
  ];
  steps.push({ id: `release:${image.name}`, kind: 'release', image: image.name, region: image.buildRegion, parameterName: lockName, after: steps.map((step) => step.id), reason: 'give the lock back, whatever happened', precondition: 'the lock is still ours' });
  return {
    plan: {
      schema: planSchemaVersion,
      runId: input.runId,
      createdAt: input.now.toISOString(),
      ssmPrefix: prefix,
      options: { force: false, images: [image.name] },
      observed: { at: inventory.observedAt, digests: {} },
      images: [{ image: image.name, action: 'change', reason, currentVersion: state.versions[0]?.version }],
      steps,
      kept: [],
    },
  };
}

/**
 * Every pointer naming the version, in every region, moves to the newest good version (of the same major, for a
 * `v<major>` line); then each region's AMI is marked revoked. A pointer with nowhere to go is refused, not emptied.
 */
function planRevocation(input: PointerChangeInput, state: ImageState, change: Extract<PointerChange, { kind: 'revoke' }>): { steps: PlanStep[] } | { refused: string } {
  const { image, inventory } = input;
  const prefix = inventory.ssmPrefix;
  if (!semver.valid(change.version)) return { refused: `${change.version} is not a version such as 1.2.3` };
  const amis: Record<string, string> = {};
  for (const region of image.regions) {
    const published = state.versions.find((candidate) => candidate.version === change.version)?.amis[region];
    const tagged = state.amis[region]?.find((ami) => ami.tags['gild:version'] === change.version && ami.state !== 'deregistered');
    const amiId = published ?? tagged?.amiId;
    if (amiId) amis[region] = amiId;
  }
  if (Object.keys(amis).length === 0) return { refused: `${image.name} ${change.version} has no AMI in ${image.regions.join(', ')} (published: ${state.versions.map((candidate) => candidate.version).join(', ') || 'none'})` };
  const path = `${imageParameterPath(prefix, image.name)}/`;
  const good = state.versions.filter((candidate) => candidate.version !== change.version && revokedReason(state, candidate.version) === undefined && image.regions.every((region) => candidate.amis[region]));
  const moves = new Map<string, { version: string; moves: PointerMove[] }>();
  const problems: string[] = [];
  for (const region of image.regions) {
    for (const [name, amiId] of Object.entries(state.pointers[region] ?? {})) {
      if (amiId !== amis[region]) continue;
      const pointer = name.slice(path.length);
      const hold = state.holds[pointer];
      if (hold) {
        problems.push(`${describeHold(pointer, hold)}; release it first`);
        continue;
      }
      const major = /^v(\d+)$/.exec(pointer)?.[1];
      const replacement = good.find((candidate) => major === undefined || semver.major(candidate.version) === Number(major));
      if (!replacement) {
        problems.push(`${pointer} in ${region} names it and there is no good version${major === undefined ? '' : ` of ${major}.x`} to move it to; publish one first`);
        continue;
      }
      const entry = moves.get(pointer) ?? { version: replacement.version, moves: [] };
      entry.moves.push({ region, name, amiId: replacement.amis[region]!, previous: amiId });
      moves.set(pointer, entry);
    }
  }
  if (problems.length > 0) return { refused: [...new Set(problems)].join('; ') };
  const steps: PlanStep[] = [...moves.entries()].map(([pointer, entry]) => ({
    id: `repoint:${image.name}:${pointer}`,
    kind: 'repoint' as const,
    image: image.name,
    version: entry.version,
    pointer,
    moves: entry.moves,
    after: [`lock:${image.name}`],
    reason: `it names the revoked ${change.version}: move it to the newest good version ${entry.version}`,
    precondition: `${pointer} still names ${change.version} in ${entry.moves.map((move) => move.region).join(', ')}`,
  }));
  const repointIds = steps.map((step) => step.id);
  for (const [region, amiId] of Object.entries(amis)) {
    steps.push({
      id: `revoke:${image.name}:${change.version}:${region}`,
      kind: 'revoke',
      image: image.name,
      version: change.version,
      region,
      amiId,
      revokedReason: change.reason,
      disable: change.disable,
      after: [`lock:${image.name}`, ...repointIds],
      reason: `${change.reason}: no pointer names it any more; its tags keep the record, and base resolution skips it`,
      precondition: `${amiId} still exists`,
    });
  }
  return { steps };
}

function holdStep(input: PointerChangeInput, pointer: string, value: string | undefined, previous: string | undefined, reason: string, after: readonly string[]): PlanStep {
  const name = holdParameterName(input.inventory.ssmPrefix, input.image.name, pointer);
  return { id: `hold:${input.image.name}:${pointer}`, kind: 'hold', image: input.image.name, region: input.image.buildRegion, parameterName: name, value, previous, after: [`lock:${input.image.name}`, ...after], reason, precondition: `${name} still holds what was observed` };
}

type Target = { readonly version: string; readonly amis: Readonly<Record<string, string>> } | { readonly refused: string };

function versionAt(state: ImageState, region: string, amiId: string | undefined): string | undefined {
  return amiId === undefined ? undefined : state.versions.find((published) => published.amis[region] === amiId)?.version;
}

function revokedReason(state: ImageState, version: string): string | undefined {
  for (const amis of Object.values(state.amis)) for (const ami of amis) if (ami.tags['gild:version'] === version && ami.tags['gild:status'] === 'revoked') return ami.tags['gild:revoked-reason'] ?? 'revoked';
  return undefined;
}

function publishedTime(state: ImageState, region: string, version: string): number | undefined {
  const ami = state.amis[region]?.find((candidate) => candidate.tags['gild:version'] === version);
  const at = Date.parse(ami?.tags['gild:published-at'] ?? ami?.tags['gild:built-at'] ?? ami?.createdAt ?? '');
  return Number.isNaN(at) ? undefined : at;
}

/** A version every pointer may name: published in every region of the image, and not revoked. */
function usable(state: ImageState, image: ResolvedImage, version: string): Target {
  const published = state.versions.find((candidate) => candidate.version === version);
  if (!published) return { refused: `${image.name} ${version} is not published (published: ${state.versions.map((candidate) => candidate.version).join(', ') || 'none'})` };
  const missing = image.regions.filter((region) => !published.amis[region]);
  if (missing.length > 0) return { refused: `${image.name} ${version} is not published in ${missing.join(', ')}` };
  const revoked = revokedReason(state, version);
  if (revoked !== undefined) return { refused: `${image.name} ${version} is revoked (${revoked})` };
  return { version, amis: published.amis };
}

function pickPromotion(input: PointerChangeInput, state: ImageState, change: Extract<PointerChange, { kind: 'promote' }>): Target {
  const { image } = input;
  const version = change.version ?? versionAt(state, image.buildRegion, state.latest[image.buildRegion]);
  if (version === undefined) return { refused: `${image.name} has no latest version to promote; give one with --version` };
  if (!semver.valid(version)) return { refused: `--version ${version} is not a version such as 1.2.3` };
  return usable(state, image, version);
}

function pickRollback(state: ImageState, image: ResolvedImage, current: string | undefined, to: string | undefined): Target {
  if (to !== undefined) {
    if (!semver.valid(to)) return { refused: `--to ${to} is not a version such as 1.2.3` };
    return usable(state, image, to);
  }
  if (current === undefined) return { refused: `the pointer names no published version of ${image.name}; give the version with --to` };
  for (const candidate of state.versions) {
    if (!semver.lt(candidate.version, current)) continue;
    const target = usable(state, image, candidate.version);
    if (!('refused' in target)) return target;
  }
  return { refused: `${image.name} has no good version older than ${current} to roll back to; give one with --to` };
}
