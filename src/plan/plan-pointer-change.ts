/**
 * The plans of the lifecycle commands, assembled purely from the inventory:
 * `gild promote` (move a channel), `gild rollback` (move `latest` or a channel
 * back and hold it there), `gild release` (remove the hold). Each is the usual
 * trip: lock → repoint | hold → release, every step with its reason. A request
 * that cannot be honoured is refused with the reason, before anything moves.
 */
import { underLock } from './plan-image-lock.ts';
import semver from 'semver';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory } from '../observe/inventory.ts';
import { describeHold, imageState, revocationOf, type ImageState } from './image-state.ts';
import { goodVersions, ownAmi, planRevocationSteps, publishedTime } from './plan-revocation.ts';
import { planUnfinishedIntents } from './plan-unfinished-intents.ts';
import { planCascade } from './plan-cascade.ts';
import { planRestoreSteps, type BinLookup } from './plan-restore.ts';
import { planNotifications } from './plan-notifications.ts';
import { leavesRegionsApart, unfinishedPublish } from './plan-publish.ts';
import type { NotifySettings } from '../notify/notify-settings.ts';
import { holdParameterName, imageParameterPath, lockParameterName } from './parameter-names.ts';
import { planSchemaVersion, type ImageDecision, type KeptResource, type PlanStep, type PointerMove, type RunPlan } from './run-plan.ts';

export type PointerChange =
  | { readonly kind: 'promote'; readonly channel: string; readonly version: string | undefined }
  | { readonly kind: 'rollback'; readonly pointer: string; readonly to: string | undefined; readonly reason: string }
  | { readonly kind: 'release'; readonly pointer: string }
  | { readonly kind: 'revoke'; readonly version: string; readonly reason: string; readonly disable: boolean; readonly cascade?: boolean }
  | { readonly kind: 'restore'; readonly version: string; readonly reason: string };

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
  /** The project's images: `revoke --cascade` revokes the descendants among them. */
  readonly images?: readonly ResolvedImage[];
  /** `restore` of a version whose AMI is gone in a region: what that region's Recycle Bin holds of it. */
  readonly bin?: Readonly<Record<string, BinLookup>>;
  /** Whom to tell about a revoke, rollback or restore (src/plan/plan-notifications.ts). */
  readonly notify?: NotifySettings | undefined;
}

const dayMs = 86_400_000;

/** `latest` or `channels/<name>`, relative to the image's path; `--channel latest` and `--channel stable` both work. */
export const pointerOfChannel = (channel: string | undefined) => (channel === undefined || channel === 'latest' ? 'latest' : `channels/${channel}`);

/** Relative pointer names a rollback or release takes: `latest`, `v<major>`, or a channel. */
export const pointerOfName = (name: string | undefined) => (name === undefined || name === 'latest' ? 'latest' : /^v\d+$/.test(name) ? name : `channels/${name}`);

export function planPointerChange(input: PointerChangeInput): { plan: RunPlan } | { refused: string } {
  const { image, inventory, change } = input;
  const prefix = inventory.ssmPrefix;
  const state = imageState(inventory, image.name, image.regions);
  const lease = inventory.leases[image.name] ?? { kind: 'free' };
  if (lease.kind === 'held' || lease.kind === 'unreadable')
    return {
      refused: `${image.name} is locked by ${lease.kind === 'held' ? `run ${lease.lease.runId}` : 'something that is not a gild lease'}; wait for that run, or remove a stale lock with \`gild unlock ${image.name} --yes\``,
    };
  const pointerName = (pointer: string) => `${imageParameterPath(prefix, image.name)}/${pointer}`;

  // A revoke or rollback that stopped half-way is finished first, by whatever command comes next; never undone.
  const unfinished = planUnfinishedIntents({ image, state, prefix, now: input.now, channels: input.channels, inventory });
  const finishing =
    change.kind === 'revoke' || change.kind === 'restore'
      ? {
          ...unfinished,
          steps: unfinished.steps.filter(
            (step) =>
              !('version' in step) ||
              step.version !== change.version ||
              step.kind === 'repoint' ||
              step.kind === 'restore' ||
              step.kind === 'account-repoint' ||
              step.kind === 'account-restore' ||
              (change.kind === 'restore' && (step.kind === 'unmark-descendant' || step.kind === 'share')),
          ),
        }
      : unfinished;

  let reason: string;
  const changes: PlanStep[] = [];
  /** Other images' steps (`revoke --cascade`), each image with its own lock and release. */
  const cascaded: PlanStep[] = [];
  const cascadedImages: { image: string; reason: string }[] = [];
  const kept: KeptResource[] = [];
  if (change.kind === 'revoke') {
    if (!semver.valid(change.version)) return { refused: `${change.version} is not a version such as 1.2.3` };
    const previous = revocationOf(state, change.version);
    // A rollback that stopped half-way onto this version is finished first, and its hold keeps the pointer there: the
    // same refusal as for a rollback that finished (a held pointer naming the version), not a revoke that leaves it.
    const heldOnto = previous ? undefined : finishing.steps.find((step) => step.kind === 'repoint' && step.version === change.version && Object.hasOwn(state.holds, step.pointer));
    if (heldOnto?.kind === 'repoint') return { refused: `${describeHold(heldOnto.pointer, state.holds[heldOnto.pointer]!)}, by a rollback that stopped half-way; release it first` };
    // A half-done revoke of another version moving a pointer onto this one: this revoke is planned on pointers that
    // finish will replace, and would leave them on it. Finished first, this revoke then moves them (or says why not).
    const movedOnto = previous ? undefined : finishing.steps.find((step) => step.kind === 'repoint' && step.version === change.version);
    if (movedOnto?.kind === 'repoint')
      return {
        refused: `${movedOnto.pointer} is being moved to ${change.version} by a command that stopped half-way (${finishing.versions.join(', ')}); run \`gild run ${image.name}\` to finish that first, then try again`,
      };
    const planned = planRevocationSteps({
      image,
      state,
      prefix,
      now: input.now,
      channels: input.channels,
      version: change.version,
      reason: previous?.reason ?? change.reason,
      by: previous?.by ?? input.by,
      disable: change.disable,
      mode: previous ? 'finish' : 'command',
      inventory,
    });
    if ('refused' in planned) return planned;
    if (previous && planned.steps.length === 0)
      return { refused: `${image.name} ${change.version} is already revoked (${previous.reason}, by ${previous.by} at ${previous.at}), and the revoke is complete` };
    reason = previous ? `finish the revoke of ${change.version} (${previous.reason}), recorded by ${previous.by} at ${previous.at}` : `revoke ${change.version}: ${change.reason}`;
    changes.push(...planned.steps);
    kept.push(...planned.notes);
    if (change.cascade) {
      const recordIds = planned.steps.filter((step) => step.kind === 'revoke' && step.phase === 'record').map((step) => step.id);
      const cascade = planCascade({
        inventory,
        prefix,
        now: input.now,
        channels: input.channels,
        images: input.images ?? [],
        descendants: planned.descendants,
        reason: previous?.reason ?? change.reason,
        by: input.by,
        disable: change.disable,
        after: recordIds,
      });
      if ('refused' in cascade) return cascade;
      cascaded.push(...cascade.steps);
      kept.push(...cascade.notes);
      for (const revokedImage of new Set(cascade.steps.map((step) => ('image' in step ? step.image : '')))) {
        cascadedImages.push({
          image: revokedImage,
          reason: `--cascade: revoke ${cascade.revoked.filter((entry) => entry.startsWith(`${revokedImage} `)).join(', ')}, built on the revoked ${image.name} ${change.version}`,
        });
      }
      if (planned.descendants.length > 0 && cascade.revoked.length > 0) reason += `; --cascade revokes ${cascade.revoked.join(', ')}`;
    } else if (planned.descendants.length > 0) {
      reason += `; built on it (marked gild:base-revoked, not revoked; --cascade revokes them): ${planned.descendants.map((descendant) => `${descendant.image} ${descendant.version}`).join(', ')}`;
    }
    finishing.steps = finishing.steps.filter((step) => !changes.some((own) => own.id === step.id));
  } else if (change.kind === 'restore') {
    if (!semver.valid(change.version)) return { refused: `${change.version} is not a version such as 1.2.3` };
    // Run again after a restore that stopped half-way: finishing it is the whole plan.
    // NOTE: its re-shares and pointer moves too: a restore that died after its restore steps is still half-done.
    const halfDone = finishing.steps.some(
      (step) => ['restore', 'unmark-descendant', 'account-restore', 'share', 'repoint'].includes(step.kind) && 'version' in step && step.version === change.version,
    );
    const planned = halfDone
      ? { steps: [], notes: [], reason: `the restore of ${change.version} is finished` }
      : planRestoreSteps({ image, state, prefix, channels: input.channels, version: change.version, reason: change.reason, by: input.by, inventory, ...(input.bin ? { bin: input.bin } : {}) });
    if ('refused' in planned) return planned;
    // A revoke of this version that stopped half-way is not finished first, only to be undone: the restore replaces it.
    // Its part in the distribution accounts too (inventory): a pointer there the revoke would still move off the copy stays.
    const undone = planRevocationSteps({ image, state, prefix, now: input.now, channels: input.channels, version: change.version, reason: '', by: '', disable: false, mode: 'finish', inventory });
    const undoneIds = new Set('refused' in undone ? [] : undone.steps.map((step) => step.id));
    // NOTE: except a channel the revoke had begun to move: a restore moves no channel back (promote does, checking the
    // soak), so that move is finished and every region agrees, as after a revoke that ran whole, then a restore.
    const channelMoveBegun = (step: PlanStep) => step.kind === 'repoint' && step.pointer.startsWith('channels/');
    // NOTE: and a pointer move the revoke had begun toward the newest good version, where the restore plans no move of
    // that pointer itself: the restored version is not the newest, so the pointer belongs where the revoke was moving it
    // (dropping it left that pointer apart across regions, found by a random seed).
    const restoreMoves = new Set(planned.steps.map((step) => step.id));
    const stillOwed = (step: PlanStep) => step.kind === 'repoint' && !restoreMoves.has(step.id) && step.moves.every((move) => versionAt(state, move.region, move.amiId) !== change.version);
    const finishingKept = finishing.steps.filter((step) => !undoneIds.has(step.id) || channelMoveBegun(step) || stillOwed(step));
    const keptIds = new Set(finishingKept.map((step) => step.id));
    // What a kept step waited for and is no longer planned (the revoke's own record steps) is nothing to wait for.
    const stillPlanned = (id: string) => keptIds.has(id) || !undoneIds.has(id);
    finishing.steps = finishingKept.map((step) => (step.after.every(stillPlanned) ? step : { ...step, after: step.after.filter(stillPlanned) }));
    if (!finishing.steps.some((step) => channelMoveBegun(step) || stillOwed(step)))
      finishing.versions.splice(0, finishing.versions.length, ...finishing.versions.filter((what) => what !== `revoke of ${change.version}`));
    reason = planned.reason;
    changes.push(...planned.steps);
    kept.push(...planned.notes);
  } else if (change.kind === 'release') {
    const hold = Object.hasOwn(state.holds, change.pointer) ? state.holds[change.pointer] : undefined;
    if (!hold) return { refused: `${change.pointer} of ${image.name} is not held; nothing to release` };
    // The holds one rollback placed together are released together: latest and the v<major> it moved with it.
    // NOTE: in the requested pointer first, then by name: the holds' order as read from Parameter Store is not stable
    // (one rollback writes them side by side), and the plan, its report and a saved plan's comparison must not vary.
    const released = Object.entries(state.holds)
      .filter(([pointer, other]) => pointer === change.pointer || (hold.group !== undefined && other.group === hold.group))
      .sort(([a], [b]) => Number(b === change.pointer) - Number(a === change.pointer) || a.localeCompare(b));
    const movesOnPublish = released.filter(([pointer]) => !pointer.startsWith('channels/')).map(([pointer]) => pointer);
    const newest = goodVersions(state, image)[0]?.version;
    reason = `release ${released.map(([pointer, other]) => describeHold(pointer, other)).join('; ')}`;
    const catchUp =
      movesOnPublish.length > 0
        ? `catch-up: the next \`gild run\` moves ${movesOnPublish.join(' and ')} to the newest good version${newest ? ` (${newest} now)` : ''}, without building`
        : `promote moves ${released.map(([pointer]) => pointer).join(', ')} again`;
    for (const [pointer] of released) {
      const raw = inventory.regions[image.buildRegion]?.parameters.find((parameter) => parameter.name === holdParameterName(prefix, image.name, pointer))?.value;
      changes.push(holdStep(input, pointer, undefined, raw, `${reason}; ${catchUp}`, []));
    }
  } else {
    const pointer = change.kind === 'promote' ? pointerOfChannel(change.channel) : change.pointer;
    if (change.kind === 'promote' && (change.channel === 'latest' || /^v\d+$/.test(change.channel) || change.channel === 'versions')) {
      return {
        refused: `--to ${change.channel}: ${change.channel} is not a channel. Publishing moves latest and v<major>; to move one back, run \`gild rollback ${image.name}${change.channel === 'latest' ? '' : ` --channel ${change.channel}`} --reason …\`; to promote, name a channel declared in pipeline/settings.ts (declared: ${Object.keys(input.channels).join(', ') || 'none'})`,
      };
    }
    if (pointer.startsWith('channels/')) {
      const channel = pointer.slice('channels/'.length);
      if (!Object.hasOwn(input.channels, channel))
        return { refused: `"${channel}" is not a channel in pipeline/settings.ts (declared: ${Object.keys(input.channels).join(', ') || 'none'}); add it under \`channels\`` };
    }
    // A publish cut short left a pointer naming the new version in one region only: a promote that moved the channel
    // and left that as it is would complete with the regions apart. The run finishes the publish; then promote.
    // NOTE: a pointer a half-done revoke or rollback is moving is not that: finishing it (first, above) brings it together.
    const movedByFinishing = new Set(finishing.steps.flatMap((step) => (step.kind === 'repoint' ? step.moves.map((move) => move.name) : [])));
    const halfPublished = change.kind === 'promote' ? unfinishedPublish(state, image, prefix) : undefined;
    if (halfPublished && leavesRegionsApart({ writes: halfPublished.step.writes.filter((write) => !movedByFinishing.has(write.name)) }, image.regions))
      return {
        refused: `the publish of ${image.name} ${halfPublished.step.version} stopped halfway: ${[...new Set(halfPublished.step.writes.map((write) => `${write.name.slice(imageParameterPath(prefix, image.name).length + 1)} in ${write.region}`))].join(', ')} not written yet; run \`gild run ${image.name}\` to finish it first, then try again`,
      };
    const hold = Object.hasOwn(state.holds, pointer) ? state.holds[pointer] : undefined;
    if (change.kind === 'promote' && hold) return { refused: `${describeHold(pointer, hold)}; run \`gild release ${image.name} --channel ${pointer.replace('channels/', '')}\` first` };
    const current = versionAt(state, image.buildRegion, state.pointers[image.buildRegion]?.[pointerName(pointer)]);
    const target = change.kind === 'promote' ? pickPromotion(input, state, change) : pickRollback(state, image, pointer, current, change.to);
    if ('refused' in target) return target;
    if (change.kind === 'promote') {
      const soakDays = input.channels[change.channel]!.soakDays;
      const publishedAt = publishedTime(state, image.buildRegion, target.version);
      const ageDays = publishedAt === undefined ? 0 : (input.now.getTime() - publishedAt) / dayMs;
      if (ageDays < soakDays) return { refused: `${target.version} has been published for ${Math.floor(ageDays)} days; ${change.channel} requires a soak of ${soakDays} days` };
    }
    // A rollback of latest takes the v<major> line that names the same bad version with it: both are held.
    const pointerTargets: { pointer: string; target: { version: string; amis: Readonly<Record<string, string>> } }[] = [{ pointer, target }];
    if (change.kind === 'rollback' && pointer === 'latest' && current !== undefined) {
      const major = semver.major(current);
      const line = `v${major}`;
      const namesCurrent = image.regions.some((region) => versionAt(state, region, state.pointers[region]?.[pointerName(line)]) === current);
      if (namesCurrent && !Object.hasOwn(state.holds, line)) {
        const lineTarget = semver.major(target.version) === major ? target : pickRollback(state, image, line, current, undefined);
        if (!('refused' in lineTarget)) pointerTargets.push({ pointer: line, target: lineTarget });
      }
    }
    const holdGroup = input.runId;
    const holdIds: string[] = [];
    if (change.kind === 'rollback') {
      // NOTE: the hold is the rollback's intent, written before any pointer moves: a rollback killed half-way is
      // finished by the next command (it moves the held pointer to the held version), and no publish moves it meanwhile.
      for (const { pointer: held, target: heldTarget } of pointerTargets) {
        const value = JSON.stringify({ version: heldTarget.version, reason: change.reason, at: input.now.toISOString(), by: input.by, group: holdGroup });
        const raw = inventory.regions[image.buildRegion]?.parameters.find((parameter) => parameter.name === holdParameterName(prefix, image.name, held))?.value;
        const step = holdStep(
          input,
          held,
          value,
          raw,
          `record the rollback first: no run moves ${held} until \`gild release ${image.name}${pointer === 'latest' ? '' : ` --channel ${pointer.replace('channels/', '')}`}\``,
          [],
        );
        changes.push(step);
        holdIds.push(step.id);
      }
    }
    for (const { pointer: moved, target: movedTarget } of pointerTargets) {
      const moves: PointerMove[] = image.regions.flatMap((region) => {
        const previous = state.pointers[region]?.[pointerName(moved)];
        const amiId = movedTarget.amis[region]!;
        return previous === amiId ? [] : [{ region, name: pointerName(moved), amiId, previous }];
      });
      if (moves.length === 0) continue;
      changes.push({
        id: `repoint:${image.name}:${moved}`,
        kind: 'repoint',
        image: image.name,
        version: movedTarget.version,
        pointer: moved,
        moves,
        after: [`lock:${image.name}`, ...holdIds],
        reason: change.kind === 'promote' ? `promote ${movedTarget.version} to ${moved}` : `roll ${moved} back to ${movedTarget.version}${current ? ` from ${current}` : ''}: ${change.reason}`,
        precondition: `${moved} still holds what was observed in every region, and ${movedTarget.version}'s AMIs are available and tagged gild:image=${image.name}, gild:version=${movedTarget.version}`,
      });
    }
    reason =
      change.kind === 'promote'
        ? `promote ${target.version} to ${pointer}`
        : `roll ${pointerTargets.map((entry) => entry.pointer).join(' and ')} back to ${target.version}${current ? ` from ${current}` : ''}: ${change.reason}`;
    if (!changes.some((step) => step.kind === 'repoint')) {
      if (change.kind === 'promote' || pointerTargets.every(({ pointer: held }) => state.holds[held]?.version === target.version))
        return { refused: `${pointer} of ${image.name} already points to ${target.version}` };
    }
  }

  // A finishing move and the change both moving one pointer: the change was planned on what the revoke will replace.
  const clash = changes.find((step) => (step.kind === 'repoint' || step.kind === 'account-repoint') && finishing.steps.some((other) => other.id === step.id));
  if (clash)
    return {
      refused: `${clash.kind === 'repoint' ? clash.pointer : clash.kind === 'account-repoint' ? `${clash.pointer} in account ${clash.account}` : clash.id} is also moved by a command that stopped half-way (${finishing.versions.join(', ')}); run \`gild run ${image.name}\` to finish that first, then try again`,
    };
  if (finishing.steps.length > 0) reason = `finish the half-done ${finishing.versions.join(', ')} first; then ${reason}`;
  const finishingIds = finishing.steps.map((step) => step.id);
  const lockName = lockParameterName(prefix, image.name);
  const steps: PlanStep[] = underLock(image, lockName, `pointers of ${image.name} move only under its lock`, [
    ...finishing.steps,
    ...changes.map((step) => (finishingIds.length > 0 ? { ...step, after: [...step.after, ...finishingIds] } : step)),
  ]);
  steps.push(...cascaded);
  const decisions: ImageDecision[] = [
    { image: image.name, action: 'change', reason, currentVersion: state.versions[0]?.version },
    ...cascadedImages.map((entry) => ({
      image: entry.image,
      action: 'change' as const,
      reason: entry.reason,
      currentVersion: imageState(inventory, entry.image, input.images?.find((candidate) => candidate.name === entry.image)?.regions ?? []).versions[0]?.version,
    })),
  ];
  steps.push(...planNotifications({ notify: input.notify, images: [image, ...(input.images ?? []).filter((other) => other.name !== image.name)], decisions, steps }));
  return {
    plan: {
      schema: planSchemaVersion,
      runId: input.runId,
      createdAt: input.now.toISOString(),
      ssmPrefix: prefix,
      options: { force: false, images: [image.name, ...cascadedImages.map((entry) => entry.image)] },
      observed: { at: inventory.observedAt, digests: {} },
      images: decisions,
      steps,
      kept: [...finishing.notes, ...kept],
    },
  };
}

function holdStep(input: PointerChangeInput, pointer: string, value: string | undefined, previous: string | undefined, reason: string, after: readonly string[]): PlanStep {
  const name = holdParameterName(input.inventory.ssmPrefix, input.image.name, pointer);
  return {
    id: `hold:${input.image.name}:${pointer}`,
    kind: 'hold',
    image: input.image.name,
    region: input.image.buildRegion,
    parameterName: name,
    value,
    previous,
    after: [`lock:${input.image.name}`, ...after],
    reason,
    precondition: `${name} still holds what was observed`,
  };
}

type Target = { readonly version: string; readonly amis: Readonly<Record<string, string>> } | { readonly refused: string };

function versionAt(state: ImageState, region: string, amiId: string | undefined): string | undefined {
  return amiId === undefined ? undefined : state.versions.find((published) => published.amis[region] === amiId)?.version;
}

/**
 * A version every pointer may name: published in every region of the image, not revoked, and each region's AMI this
 * image's own (tagged gild:image=<image>, gild:version=<version>, available). A `versions/<v>` written by hand naming
 * another image's AMI is refused here, and the repoint step checks the tags again right before it moves anything.
 */
function usable(state: ImageState, image: ResolvedImage, version: string): Target {
  const published = state.versions.find((candidate) => candidate.version === version);
  if (!published) return { refused: `${image.name} ${version} is not published (published: ${state.versions.map((candidate) => candidate.version).join(', ') || 'none'})` };
  const missing = image.regions.filter((region) => !published.amis[region]);
  if (missing.length > 0) return { refused: `${image.name} ${version} is not published in ${missing.join(', ')}` };
  const revoked = revocationOf(state, version);
  if (revoked !== undefined) return { refused: `${image.name} ${version} is revoked (${revoked.reason})` };
  for (const region of image.regions) {
    if (ownAmi(state, region, published.amis[region], version)) continue;
    return {
      refused: `versions/${version} of ${image.name} in ${region} names ${published.amis[region]}, which is not an available AMI tagged gild:image=${image.name} and gild:version=${version} in this account; a pointer names only its own image's AMIs. Repair versions/${version} (\`gild verify --repair\`) or choose another version`,
    };
  }
  return { version, amis: published.amis };
}

function pickPromotion(input: PointerChangeInput, state: ImageState, change: Extract<PointerChange, { kind: 'promote' }>): Target {
  const { image } = input;
  const version = change.version ?? versionAt(state, image.buildRegion, state.latest[image.buildRegion]);
  if (version === undefined) return { refused: `${image.name} has no latest version to promote; give one with --version` };
  if (!semver.valid(version)) return { refused: `--version ${version} is not a version such as 1.2.3` };
  return usable(state, image, version);
}

/** `--to`, or the newest good version older than the pointer's (of its major, for a `v<major>` line). */
function pickRollback(state: ImageState, image: ResolvedImage, pointer: string, current: string | undefined, to: string | undefined): Target {
  const major = /^v(\d+)$/.exec(pointer)?.[1];
  if (to !== undefined) {
    if (!semver.valid(to)) return { refused: `--to ${to} is not a version such as 1.2.3` };
    if (major !== undefined && semver.major(to) !== Number(major)) return { refused: `--to ${to} is not a ${major}.x version: ${pointer} names only versions of major ${major}` };
    return usable(state, image, to);
  }
  if (current === undefined) return { refused: `${pointer} names no published version of ${image.name}; give the version with --to` };
  for (const candidate of state.versions) {
    if (!semver.lt(candidate.version, current)) continue;
    if (major !== undefined && semver.major(candidate.version) !== Number(major)) continue;
    const target = usable(state, image, candidate.version);
    if (!('refused' in target)) return target;
  }
  return { refused: `${image.name} has no good version${major === undefined ? '' : ` of ${major}.x`} older than ${current} to roll ${pointer} back to; give one with --to` };
}
