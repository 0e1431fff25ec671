/**
 * `gild restore <image> <version> --reason`, pure: undo a revoke through the same trip as the other lifecycle commands.
 *
 * 1. `restore` in the build region: the version ledger records the restore (the intent: from here on every reader
 *    treats the version as good), then that region's `status/<v>`, AMI and tags; then every other region.
 * 2. `unmark-descendant`: take the revoke's `gild:base-revoked` off the AMIs built on it (through generations), unless
 *    they stand on another version still revoked.
 * 2b. `share` each restored (or unbinned) AMI again as the definition says: DisableImage (a revoke's `--disable`, or
 *    retirement's disable phase) withdrew every launch permission, and EnableImage gives none back.
 * 3. `repoint` `latest` and `v<major>` back to it where it is now the newest good version (what a publish would have
 *    done), unless a rollback holds them. Channels are offered, not moved: the plan names the `gild promote` to run.
 *
 * Refused, saying why and what could help, when it is not revoked, when its AMI is gone in a region (retired after
 * `retention.keepRevokedDays`; the Recycle Bin may still hold it), or when retirement began.
 */
import semver from 'semver';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeHold, revocationOf, type ImageState } from './image-state.ts';
import { imageParameterPath } from './parameter-names.ts';
import { goodVersions } from './plan-revocation.ts';
import type { KeptResource, PlanStep, PointerMove, StepOfKind } from './run-plan.ts';
import { restorationOf, type Revocation } from './version-ledger.ts';
import type { Inventory } from '../observe/inventory.ts';
import { planDescendantUnmarks } from './plan-descendants.ts';
import { planAccountRestore } from './plan-account-lifecycle.ts';
import { shareSteps } from './plan-share-steps.ts';
import { describeGrantees, expectedLaunchPermissions } from './plan-sharing.ts';

/**
 * What the Recycle Bin of a region holds of the version (by AMI name), with the snapshots in the bin whose description
 * names each AMI, or why it could not be asked.
 */
export type BinLookup =
  { readonly found: readonly { readonly amiId: string; readonly name: string; readonly leavesBinAt: string | undefined; readonly snapshotIds?: readonly string[] }[] } | { readonly unknown: string };

/**
 * Whether an AMI name is the one gild's build gives `version` of `image` (src/plan/plan-build.ts: `<image>-<version>-<runId>`,
 * the run ID from newRunId in src/context.ts): the bin keeps no tags, so the name is all that says an AMI in it is gild's.
 * A prefix alone would take `web-1.0.0-copy-by-hand` too.
 */
export function isGildAmiName(imageName: string, version: string, name: string): boolean {
  const prefix = `${imageName}-${version}-`;
  return name.startsWith(prefix) && /^\d{8}T\d{6}Z-[a-z0-9]{1,8}$/.test(name.slice(prefix.length));
}

/** Per region, the AMI (and its snapshots) to bring back from the bin; or why the version cannot come back from it. */
function binnedAmis(input: RestorePlanInput, gone: readonly string[]): { readonly amis: Record<string, { amiId: string; snapshotIds: readonly string[] }> } | { readonly refused: string } {
  const { image, version } = input;
  const amis: Record<string, { amiId: string; snapshotIds: readonly string[] }> = {};
  const problems: string[] = [];
  for (const region of gone) {
    const lookup = input.bin?.[region];
    if (!lookup) problems.push(`${region}: the Recycle Bin was not asked`);
    else if ('unknown' in lookup) problems.push(`${region}: ${lookup.unknown}`);
    else {
      const named = lookup.found.filter((found) => isGildAmiName(image.name, version, found.name));
      const others = lookup.found.filter((found) => !named.includes(found));
      const elsewise =
        others.length > 0 ? ` (it holds ${others.map((found) => `${found.amiId} named ${found.name}`).join(', ')}, not named as gild names ${version}'s AMI: ${image.name}-${version}-<run ID>)` : '';
      if (named.length === 0) problems.push(`${region}: not in the Recycle Bin either${elsewise || ' (no retention rule for AMIs kept it)'}`);
      else if (named.length > 1)
        problems.push(
          `${region}: the Recycle Bin holds ${named.length} AMIs named ${image.name}-${version}-… (${named.map((found) => found.amiId).join(', ')}) and keeps no tags to tell the published one: restore it by hand (\`aws ec2 restore-image-from-recycle-bin --region ${region} --image-id …\`, its snapshots first with \`aws ec2 restore-snapshot-from-recycle-bin\`), then run \`gild restore ${image.name} ${version}\` again`,
        );
      else if ((named[0]!.snapshotIds ?? []).length === 0)
        problems.push(
          `${region}: ${named[0]!.amiId} is in the Recycle Bin${named[0]!.leavesBinAt ? ` until ${named[0]!.leavesBinAt}` : ''}, but none of its snapshots is (no EBS_SNAPSHOT retention rule kept them when retirement deleted them), and an AMI without its snapshots cannot launch`,
        );
      else amis[region] = { amiId: named[0]!.amiId, snapshotIds: named[0]!.snapshotIds! };
    }
  }
  return problems.length > 0 ? { refused: problems.join('; ') } : { amis };
}

export interface RestorePlanInput {
  readonly image: ResolvedImage;
  readonly state: ImageState;
  readonly prefix: string;
  readonly channels: Readonly<Record<string, { readonly soakDays: number }>>;
  readonly version: string;
  readonly reason: string;
  readonly by: string;
  /** Per region where the version's AMI is gone: what the Recycle Bin says. */
  readonly bin?: Readonly<Record<string, BinLookup>>;
  /** Every image's AMIs: where the revoke's `gild:base-revoked` marks on descendants are found, to be taken off. */
  readonly inventory?: Inventory;
}

/** The version's AMI per region that still exists (any state but deregistered), and the regions where none does. */
export function restorableAmis(state: ImageState, image: ResolvedImage, version: string) {
  const amis: Record<string, { amiId: string; status: string | undefined }> = {};
  const gone: string[] = [];
  for (const region of image.regions) {
    const ami = state.amis[region]?.find((candidate) => candidate.tags['gild:version'] === version && candidate.state !== 'deregistered');
    if (ami) amis[region] = { amiId: ami.amiId, status: ami.tags['gild:status'] };
    else gone.push(region);
  }
  return { amis, gone };
}

/** The revoke a restore undoes, as its steps carry it (the ledger's entry without an earlier restore). */
function revokeRecordOf(revocation: Revocation): { reason: string; at: string; by: string; replacement?: string } {
  return { reason: revocation.reason, at: revocation.at, by: revocation.by, ...(revocation.replacement ? { replacement: revocation.replacement } : {}) };
}

export function planRestoreSteps(input: RestorePlanInput): { steps: PlanStep[]; notes: KeptResource[]; reason: string } | { refused: string } {
  const { image, state, version } = input;
  const revocation = revocationOf(state, version);
  const { amis: standing, gone } = restorableAmis(state, image, version);
  // What retirement deregistered and a retention rule kept comes back from the Recycle Bin first, as planned steps.
  const fromBin = gone.length > 0 ? binnedAmis(input, gone) : { amis: {} };
  if (!revocation) {
    const restored = restorationOf(state.ledger, version);
    if (restored && gone.length === 0) return { refused: `${image.name} ${version} was already restored (by ${restored.by} at ${restored.at}: ${restored.reason})` };
    const highest = semver.valid(version) ? state.ledger.built[`${semver.major(version)}.${semver.minor(version)}`] : undefined;
    // Only a number once published comes back: a failed build's AMI of the same name is never published by a restore.
    const onceBuilt = highest !== undefined && semver.lte(version, highest);
    if (gone.length === 0 || !onceBuilt) return { refused: `${image.name} ${version} is not revoked${gone.length > 0 && onceBuilt ? '' : ' nor retired'}; nothing to restore` };
    if ('refused' in fromBin) return { refused: `${image.name} ${version} cannot be brought back: its AMI is gone in ${gone.join(', ')} (deregistered by retirement); ${fromBin.refused}` };
  } else if ('refused' in fromBin) {
    return {
      refused: `${image.name} ${version} cannot be restored: its AMI is gone in ${gone.join(', ')} (retirement deregisters a revoked version after retention.keepRevokedDays); ${fromBin.refused}`,
    };
  }
  const binned = fromBin.amis;
  const revoked = revocation ? revokeRecordOf(revocation) : undefined;
  const amis: Record<string, { amiId: string; status: string | undefined }> = { ...standing };
  for (const [region, found] of Object.entries(binned)) amis[region] = { amiId: found.amiId, status: revocation ? 'revoked' : 'published' };
  const retiring = Object.entries(amis)
    .filter(([, ami]) => ami.status === 'retiring')
    .map(([region]) => region);
  if (retiring.length > 0) return { refused: `${image.name} ${version} cannot be restored: retirement began deregistering it in ${retiring.join(', ')}` };
  const path = `${imageParameterPath(input.prefix, image.name)}/`;
  const unpublished = image.regions.filter((region) => !binned[region] && state.versions.find((candidate) => candidate.version === version)?.amis[region] !== amis[region]!.amiId);
  if (unpublished.length > 0)
    return {
      refused: `${image.name} ${version} cannot be restored: ${path}versions/${version} does not name ${unpublished.map((region) => `${amis[region]!.amiId} in ${region}`).join(', ')}; \`gild verify --repair\` first`,
    };

  const lockId = `lock:${image.name}`;
  const ordered = [image.buildRegion, ...image.regions.filter((region) => region !== image.buildRegion)];
  const unbins: PlanStep[] = ordered.flatMap((region) => {
    const found = binned[region];
    if (!found) return [];
    return [
      {
        id: `unbin:${image.name}:${version}:${region}`,
        kind: 'unbin',
        image: image.name,
        version,
        region,
        amiId: found.amiId,
        snapshotIds: found.snapshotIds,
        parameterName: `${path}versions/${version}`,
        status: revocation ? 'revoked' : 'published',
        ...(revoked ? { revoked } : {}),
        by: input.by,
        restoredReason: input.reason,
        after: [lockId],
        reason: `${version}'s AMI in ${region} was deregistered by retirement and a Recycle Bin retention rule kept it: restore ${found.snapshotIds.join(', ')} and ${found.amiId} from the bin, tag it ${image.name} ${version} ${revocation ? 'revoked (the restore below un-revokes it)' : `published, take off retirement's marks (re-enable and un-deprecate it), tag it gild:retain=restored: ${input.reason} so retention keeps it`}, and write ${path}versions/${version} again`,
        precondition: `${found.amiId} is still in the Recycle Bin of ${region} (or already back, tagged ${image.name} ${version})`,
      } satisfies StepOfKind<'unbin'>,
    ];
  });
  const unbinIds = unbins.map((step) => step.id);
  if (!revocation) {
    // A version retired while good: back from the bin, then latest and v<major> where it is the newest good one.
    const notes: KeptResource[] = [];
    const note = (text: string) => notes.push({ image: image.name, region: image.buildRegion, amiId: amis[image.buildRegion]!.amiId, version, reason: text });
    note(`${version}'s AMIs are tagged gild:retain=restored: ${input.reason}, so retention keeps it; remove that tag when it may be retired again`);
    const shares = restoredShares({ image, version, amis: binned, after: (region) => [lockId, `unbin:${image.name}:${version}:${region}`], why: 'brought back from the Recycle Bin' });
    const repoints = restoredPointerMoves({ image, state, version, amis, path, after: [lockId, ...unbinIds, ...shares.map((step) => step.id)], note });
    return { steps: [...unbins, ...shares, ...repoints], notes, reason: `bring ${version} back from the Recycle Bin in ${Object.keys(binned).join(', ')}: ${input.reason}` };
  }
  const buildStepId = `restore:${image.name}:${version}:${image.buildRegion}`;
  const undone = revokeRecordOf(revocation);
  const steps: PlanStep[] = ordered.map(
    (region) =>
      ({
        id: `restore:${image.name}:${version}:${region}`,
        kind: 'restore',
        image: image.name,
        version,
        region,
        amiId: amis[region]!.amiId,
        restoredReason: input.reason,
        by: input.by,
        revoked: undone,
        ...(region === image.buildRegion ? { ledger: true } : {}),
        after: region === image.buildRegion ? [lockId, ...unbinIds] : [lockId, ...unbinIds, buildStepId],
        reason: `undo the revoke of ${version} (${revocation.reason}, by ${revocation.by} at ${revocation.at}): ${input.reason}. ${region === image.buildRegion ? 'Record the restore in the version ledger first, then c' : 'C'}lear status/${version}, re-enable and un-deprecate ${amis[region]!.amiId}, tag it published`,
        precondition: `${amis[region]!.amiId} still exists, tagged ${image.name} ${version}, and retirement has not begun`,
      }) satisfies StepOfKind<'restore'>,
  );
  const restoreIds = steps.map((step) => step.id);
  const shares = restoredShares({ image, version, amis, after: (region) => [lockId, `restore:${image.name}:${version}:${region}`], why: 'restored' });
  steps.unshift(...unbins);
  steps.push(...shares);
  // The revoke's marks on descendants come off once the restore is recorded; a crash before they do leaves the ledger
  // saying restored, and every later command of this image finishes them (planUnfinishedRestores).
  const unmarks = input.inventory ? planDescendantUnmarks({ inventory: input.inventory, image: image.name, version, after: [buildStepId] }) : [];

  const notes: KeptResource[] = [];
  const note = (text: string) => notes.push({ image: image.name, region: image.buildRegion, amiId: amis[image.buildRegion]!.amiId, version, reason: text });
  const repoints = restoredPointerMoves({ image, state, version, amis, path, after: [lockId, ...restoreIds, ...shares.map((step) => step.id)], note });
  steps.push(...repoints);
  for (const channel of Object.keys(input.channels).sort()) {
    const current = state.versions.find((candidate) => candidate.amis[image.buildRegion] === state.pointers[image.buildRegion]?.[`${path}channels/${channel}`])?.version;
    if (current !== undefined && semver.gte(current, version)) continue;
    note(`channels/${channel} names ${current ?? 'nothing'}; \`gild promote ${image.name} --to ${channel} --version ${version}\` puts the restored ${version} there (promote checks its soak)`);
  }
  steps.push(...unmarks);
  if (input.inventory) {
    const accounts = planAccountRestore({
      image,
      state,
      inventory: input.inventory,
      version,
      reason: input.reason,
      by: input.by,
      revoked: undone,
      good: goodOnceBack(state, image, version),
      after: [lockId, buildStepId],
      finishing: undefined,
    });
    steps.push(...accounts.steps);
    notes.push(...accounts.notes);
  }
  const unmarked = [...new Set(unmarks.map((step) => (step.kind === 'unmark-descendant' ? `${step.descendant.image} ${step.descendant.version}` : '')))];
  return {
    steps,
    notes,
    reason: `restore ${version}, revoked by ${revocation.by} at ${revocation.at} (${revocation.reason}): ${input.reason}${unmarked.length > 0 ? `; built on it, un-marked gild:base-revoked: ${unmarked.join(', ')}` : ''}`,
  };
}

/**
 * Restores that stopped half-way: the ledger says restored, but a region's AMI is still tagged revoked or its
 * `status/<v>` still says revoked, or a descendant still carries the revoke's `gild:base-revoked` mark. Their steps finish them; the revoke is never finished instead.
 */
export function planUnfinishedRestores(input: { readonly image: ResolvedImage; readonly state: ImageState; readonly prefix: string; readonly inventory?: Inventory | undefined }): {
  steps: PlanStep[];
  versions: string[];
} {
  const { image, state } = input;
  const steps: PlanStep[] = [];
  const versions: string[] = [];
  for (const [version, revocation] of Object.entries(state.ledger.revoked)) {
    const restored = revocation.restored;
    if (!restored || !semver.valid(version)) continue;
    // Revoked again since the restore (traces newer than it, src/plan/image-state.ts revocationOf): that revoke is finished, not undone.
    if (revocationOf(state, version) !== undefined) continue;
    const { amis, gone } = restorableAmis(state, image, version);
    const unfinished = Object.entries(amis).filter(([region, ami]) => ami.status === 'revoked' || state.statuses[region]?.[version]?.revoked !== undefined);
    const finishing = `finish the restore that stopped half-way (the ledger says ${version} was restored by ${restored.by} at ${restored.at})`;
    const restoreIds = unfinished.map(([region]) => `restore:${image.name}:${version}:${region}`);
    const stillRevokedIn = new Set(unfinished.map(([region]) => region));
    const moves =
      gone.length > 0
        ? []
        : restoredPointerMoves({ image, state, version, amis, path: `${imageParameterPath(input.prefix, image.name)}/`, after: [`lock:${image.name}`, ...restoreIds], note: () => {}, finishing });
    // NOTE: sharing is not observed, so a restore that died between its restore and share steps is told by what is
    // still to do: a region still revoked is shared once restored, and every region again while a pointer has yet to
    // move back (the share reads the grants live and changes nothing where they are there).
    const shared = restoredShares({
      image,
      version,
      amis: Object.fromEntries(Object.entries(amis).filter(([region]) => moves.length > 0 || stillRevokedIn.has(region))),
      after: (region) => [`lock:${image.name}`, ...(stillRevokedIn.has(region) ? [`restore:${image.name}:${version}:${region}`] : [])],
      why: 'restored',
      finishing,
    });
    const repoints = moves.map((step) => ({ ...step, after: [...step.after, ...shared.map((share) => share.id)] }));
    // A restore that died before its un-marks: the descendants still say their base is revoked.
    const unmarks = input.inventory ? planDescendantUnmarks({ inventory: input.inventory, image: image.name, version, after: [] }) : [];
    // Copies in other accounts still revoked, or their pointers not yet back.
    const accounts =
      input.inventory && gone.length === 0
        ? planAccountRestore({
            image,
            state,
            inventory: input.inventory,
            version,
            reason: restored.reason,
            by: restored.by,
            revoked: { reason: revocation.reason, at: revocation.at, by: revocation.by },
            good: goodOnceBack(state, image, version),
            after: [`lock:${image.name}`, ...restoreIds],
            finishing,
          }).steps
        : [];
    if (unfinished.length === 0 && unmarks.length === 0 && repoints.length === 0 && accounts.length === 0) continue;
    versions.push(version);
    steps.push(
      ...unmarks.map((step) => ({ ...step, reason: `finish the restore that stopped half-way (the ledger says ${version} was restored by ${restored.by} at ${restored.at}): ${step.reason}` })),
    );
    for (const [region, ami] of unfinished) {
      steps.push({
        id: `restore:${image.name}:${version}:${region}`,
        kind: 'restore',
        image: image.name,
        version,
        region,
        amiId: ami.amiId,
        restoredReason: restored.reason,
        by: restored.by,
        revoked: { reason: revocation.reason, at: revocation.at, by: revocation.by },
        after: [`lock:${image.name}`],
        reason: `finish the restore that stopped half-way: the ledger says ${version} was restored by ${restored.by} at ${restored.at} (${restored.reason}), but ${ami.amiId} in ${region} still says revoked`,
        precondition: `${ami.amiId} still exists, tagged ${image.name} ${version}, and retirement has not begun`,
      } satisfies StepOfKind<'restore'>);
    }
    steps.push(...shared, ...repoints, ...accounts);
  }
  return { steps, versions };
}

/**
 * One `share` step per region for the AMIs a restore (or the Recycle Bin) gives back, before any pointer names them
 * again: DisableImage (a revoke's `--disable`, retirement's disable phase) withdrew every launch permission, and
 * EnableImage gives none back (AWS: accounts that lost access do not regain it automatically); deregistration and the
 * bin may lose them too. The share reads the grants live and changes only what differs, so where they are still there
 * (a revoke that only deprecated) it changes nothing. None for a private image: the definition grants nobody anything.
 */
function restoredShares(input: {
  readonly image: ResolvedImage;
  readonly version: string;
  readonly amis: Readonly<Record<string, { readonly amiId: string }>>;
  /** What each region's share waits for: the step that made its AMI launchable again. */
  readonly after: (region: string) => readonly string[];
  readonly why: string;
  readonly finishing?: string;
}): StepOfKind<'share'>[] {
  const { image, version } = input;
  const regions = image.regions.filter((region) => input.amis[region]);
  if (regions.length === 0 || describeGrantees(expectedLaunchPermissions(image)).length === 0) return [];
  const amis = Object.fromEntries(regions.map((region) => [region, input.amis[region]!.amiId]));
  const when = `${input.finishing ? `${input.finishing}: ` : ''}${version} is ${input.why}; DisableImage (a revoke's --disable, or retirement's disable phase) withdrew every launch permission and EnableImage gives none back, so before a pointer names it again`;
  return shareSteps(image, version, { amis }, [], when)
    .filter((step) => regions.includes(step.region))
    .map((step) => ({
      ...step,
      id: `share:${image.name}:${step.region}:${amis[step.region]}`,
      after: [...input.after(step.region)],
      reason: `${step.reason} (read live: where the grants are still there, as after a revoke that only deprecated, nothing changes)`,
    }));
}

/** The versions pointers may name once a restored version is back: the good ones and it, newest first. */
function goodOnceBack(state: ImageState, image: ResolvedImage, version: string, binned?: Readonly<Record<string, string>>) {
  const restored = state.versions.find((candidate) => candidate.version === version) ?? (binned ? { version, amis: binned } : undefined);
  return [...goodVersions(state, image, version), ...(restored ? [restored] : [])].sort((a, b) => semver.rcompare(a.version, b.version));
}

/**
 * `latest` and `v<major>` back on a restored version where it is the newest good one (what its publish did), unless a
 * hold keeps them: planned by the restore, and again by every later command until every region agrees, so a restore cut
 * short between its regions' pointer writes converges.
 */
function restoredPointerMoves(input: {
  readonly image: ResolvedImage;
  readonly state: ImageState;
  readonly version: string;
  readonly amis: Readonly<Record<string, { readonly amiId: string }>>;
  readonly path: string;
  readonly after: readonly string[];
  readonly note: (text: string) => void;
  readonly finishing?: string;
}): PlanStep[] {
  const { image, state, version, amis, path } = input;
  const steps: PlanStep[] = [];
  // The versions pointers may name once it is back: the good ones and this one.
  // A version back from the Recycle Bin has no versions/<v> yet: its AMIs are the ones the plan brings back.
  const good = goodOnceBack(state, image, version, Object.fromEntries(Object.entries(amis).map(([region, ami]) => [region, ami.amiId])));
  for (const pointer of ['latest', `v${semver.major(version)}`]) {
    const newest = good.find((candidate) => pointer === 'latest' || semver.major(candidate.version) === semver.major(version));
    if (newest?.version !== version) continue;
    const hold = Object.hasOwn(state.holds, pointer) ? state.holds[pointer] : undefined;
    if (hold) {
      input.note(`${pointer} is not moved back: ${describeHold(pointer, hold)}; \`gild release ${image.name}${pointer === 'latest' ? '' : ` --channel ${pointer}`}\` lets the next run catch it up`);
      continue;
    }
    const name = `${path}${pointer}`;
    const moves: PointerMove[] = image.regions.flatMap((region) =>
      state.pointers[region]?.[name] === amis[region]!.amiId ? [] : [{ region, name, amiId: amis[region]!.amiId, previous: state.pointers[region]?.[name] }],
    );
    if (moves.length === 0) continue;
    steps.push({
      id: `repoint:${image.name}:${pointer}`,
      kind: 'repoint',
      image: image.name,
      version,
      pointer,
      moves,
      after: [...input.after],
      reason: `${input.finishing ? `${input.finishing}: ` : ''}${version} is restored and is the newest good version${pointer === 'latest' ? '' : ` of ${semver.major(version)}.x`}: move ${pointer} back to it, as its publish did`,
      precondition: `${pointer} still holds what was observed in every region, and ${version}'s AMIs are available and tagged gild:image=${image.name}, gild:version=${version}`,
    });
  }
  return steps;
}
