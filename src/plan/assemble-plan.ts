/**
 * The run's plan, decided purely from what was observed: no clients, no
 * files, no clock but the one passed in. Same input, same plan.
 *
 * Per image, in dependency order: is its lock free (or stale), what version
 * comes next, is there a reason to build, can an earlier run's unpublished
 * build be resumed instead, what unpublished AMIs to clean up, what to
 * publish, what to retire. Then, across regions, which temporary resources of
 * dead runs to sweep.
 */
import { createHash } from 'node:crypto';
import semver from 'semver';
import { describeGeneralizeChoice } from '../definition/describe-generalize.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory, LeaseState, ObservedAmi } from '../observe/inventory.ts';
import { staleLeaseReason } from '../observe/parse-lease.ts';
import { describeHold, imageState, revocationOf, unpublishedBuilds, usedVersions, type ImageState, type UnpublishedBuild } from './image-state.ts';
import { nextVersion } from './next-version.ts';
import { imageParameterPath, latestParameterName, lockParameterName, majorParameterName, versionParameterName } from './parameter-names.ts';
import { planDistribution } from './plan-distribution.ts';
import { planRetirementPolicy } from './plan-retirement-policy.ts';
import { describeGrantees, expectedLaunchPermissions, expectedVolumePermissions } from './plan-sharing.ts';
import { planSweep } from './plan-sweep.ts';
import { planUnfinishedIntents } from './plan-unfinished-intents.ts';
import { defaultKeepFailedDays } from '../settings/schema.ts';
import { planSchemaVersion, type AmiSource, type BuildBase, type ImageDecision, type KeptResource, type ParameterWrite, type PlanStep, type RunPlan } from './run-plan.ts';

export interface AssembleInput {
  readonly runId: string;
  readonly now: Date;
  /** The images this run covers (selected on the command line, or all). */
  readonly images: readonly ResolvedImage[];
  /** What each image's build would be made of, by image name (`gild:fingerprint`). */
  readonly fingerprints: Readonly<Record<string, string>>;
  readonly inventory: Inventory;
  readonly force: boolean;
  readonly settings: {
    readonly sweepAfterMinutes: number;
    readonly rebuildAfterDays: number | undefined;
    readonly keepFailedDays?: number;
    /** Declared channels and their soak: a revoke finished by this run moves a channel only to a version that soaked. */
    readonly channels?: Readonly<Record<string, { readonly soakDays: number }>>;
  };
  /**
   * `run` (the default) builds, publishes and retires; `retire` plans only what retirement needs (lock, cleanup of
   * unpublished AMIs, retire, release): `gild retire`, which works on unchanged images without building them.
   */
  readonly mode?: 'run' | 'retire';
  /**
   * What a shared plan decided for images another CI job applies (`gild run <image> --plan file`): an image built on
   * one of them is planned on the version that job publishes, as the shared plan was.
   */
  readonly decidedElsewhere?: readonly ImageDecision[];
}

const DAY_MS = 86_400_000;

export function assemblePlan(input: AssembleInput): RunPlan {
  const { inventory, now } = input;
  const ordered = orderByDependency(input.images);
  const decisions = new Map<string, ImageDecision>((input.decidedElsewhere ?? []).map((decision) => [decision.image, decision]));
  const steps: PlanStep[] = [];
  const kept: KeptResource[] = [];

  const sweep = input.mode === 'retire' ? [] : planSweep({ inventory, runId: input.runId, now, sweepAfterMinutes: input.settings.sweepAfterMinutes, buildRegions: Object.fromEntries(input.images.map((image) => [image.name, image.buildRegion])) });
  steps.push(...sweep);
  const sweepIds = sweep.map((step) => step.id);

  for (const image of ordered) {
    const planned = planImageSteps(input, image, decisions, sweepIds);
    decisions.set(image.name, planned.decision);
    steps.push(...planned.steps);
    kept.push(...planned.kept);
  }

  return {
    schema: planSchemaVersion,
    runId: input.runId,
    createdAt: now.toISOString(),
    ssmPrefix: inventory.ssmPrefix,
    options: { force: input.force, images: ordered.map((image) => image.name) },
    observed: { at: inventory.observedAt, digests: Object.fromEntries(ordered.map((image) => [image.name, imageDigest(inventory, image)])) },
    images: ordered.map((image) => decisions.get(image.name)!),
    steps,
    kept,
  };
}

/** Dependencies before dependants; input order otherwise. Cycles were rejected by validation. */
export function orderByDependency(images: readonly ResolvedImage[]): ResolvedImage[] {
  const byName = new Map(images.map((image) => [image.name, image]));
  const ordered: ResolvedImage[] = [];
  const seen = new Set<string>();
  const visit = (image: ResolvedImage) => {
    if (seen.has(image.name)) return;
    seen.add(image.name);
    for (const dependency of image.dependsOn) {
      const dependencyImage = byName.get(dependency);
      if (dependencyImage) visit(dependencyImage);
    }
    ordered.push(image);
  };
  images.forEach(visit);
  return ordered;
}

/**
 * What an image's observed state hashes to: its parameters (lock included) and
 * its AMIs' states. A saved plan is refused for an image whose digest moved.
 */
export function imageDigest(inventory: Inventory, image: ResolvedImage): string {
  const path = `${imageParameterPath(inventory.ssmPrefix, image.name)}/`;
  const facts: string[] = [];
  for (const region of image.regions) {
    const regionInventory = inventory.regions[region];
    for (const parameter of regionInventory?.parameters ?? []) if (parameter.name.startsWith(path)) facts.push(`p ${region} ${parameter.name}=${parameter.value}`);
    for (const ami of regionInventory?.amis ?? []) if (ami.tags['gild:image'] === image.name) facts.push(`a ${region} ${ami.amiId} ${ami.state} ${ami.tags['gild:status'] ?? ''}`);
  }
  return createHash('sha256').update(facts.sort().join('\n')).digest('hex').slice(0, 16);
}

interface PlannedImage {
  readonly decision: ImageDecision;
  readonly steps: PlanStep[];
  readonly kept: KeptResource[];
}

function planImageSteps(input: AssembleInput, image: ResolvedImage, decided: ReadonlyMap<string, ImageDecision>, sweepIds: readonly string[]): PlannedImage {
  const { inventory, now } = input;
  const state = imageState(inventory, image.name, image.regions);
  // A revoked version is not what an image is "at": the newest good one is.
  const currentVersion = (state.versions.find((published) => revocationOf(state, published.version) === undefined) ?? state.versions[0])?.version;
  const lease = inventory.leases[image.name] ?? { kind: 'free' };
  const lockName = lockParameterName(inventory.ssmPrefix, image.name);

  // A lock held by a run that may still be working: do nothing at all to this image, so nothing can leak.
  const locked = liveLock(lease, now, lockName, image.name);
  if (locked) return { decision: { image: image.name, action: 'locked', reason: locked.reason, currentVersion, lease: locked.lease }, steps: [], kept: [] };
  if (lease.kind === 'unreadable') {
    return {
      decision: { image: image.name, action: 'error', kind: 'pipeline', reason: `its lock ${lockName} in ${image.buildRegion} holds "${lease.raw.slice(0, 80)}", which is not a gild lease. If no run is working on it, remove it with \`gild unlock ${image.name} --yes\`.` },
      steps: [],
      kept: [],
    };
  }

  // `gild retire` neither builds nor publishes: what the next version or the base would be does not matter to it.
  const retireOnly = input.mode === 'retire';
  // NOTE: every number ever used counts, not only what is published now: a revoked or retired version's number is never built again.
  const version = nextVersion(image.version, usedVersions(state));
  if (!version.ok && !retireOnly) return { decision: { image: image.name, action: 'error', kind: 'definition', reason: `${image.file}: version: ${version.reason}` }, steps: [], kept: [] };
  const nextUnused: string = version.ok ? version.version : '(none)';

  const base = retireOnly ? undefined : resolveBase(input, image, decided);
  if (base && 'error' in base) return { decision: { image: image.name, action: 'error', kind: 'pipeline', reason: base.error }, steps: [], kept: [] };

  const fingerprint = input.fingerprints[image.name] ?? '';
  // A run that stopped halfway through publishing is finished first; building again would waste a version.
  // A revoke or rollback that stopped half-way is finished before anything else moves a pointer: never reversed.
  const intents = planUnfinishedIntents({ image, state, prefix: inventory.ssmPrefix, now, channels: input.settings.channels ?? {} });
  const finishingIntents = intents.steps.length > 0;
  const unfinished = base && !finishingIntents ? unfinishedPublish(state, image, inventory.ssmPrefix) : undefined;
  const buildReason = !base || unfinished || finishingIntents ? undefined : reasonToBuild(input, image, state, base, fingerprint);
  // NOTE: a publish raises the ledger before it names the AMI; a run killed right after leaves its own number in the
  // ledger. Resuming that same AMI under that number is not building the number twice (that rule is: never a different AMI).
  const ownNumber = !base || buildReason === undefined || !version.ok ? undefined : numberOnlyThisBuildTook(state, unpublishedBuilds(state), image, version.version, fingerprint, base);
  const next: string = ownNumber?.version ?? nextUnused;
  const resumable = !base || buildReason === undefined ? undefined : (ownNumber?.build ?? findResumable(unpublishedBuilds(state), image, next, fingerprint, base));

  const steps: PlanStep[] = [];
  const kept: KeptResource[] = [];
  const lockStepId = `lock:${image.name}`;
  const lockAfter = [...sweepIds];
  if (lease.kind === 'held') {
    steps.push({
      id: `unlock:${image.name}`,
      kind: 'unlock',
      image: image.name,
      region: image.buildRegion,
      parameterName: lockName,
      observedValue: lease.raw,
      lease: lease.lease,
      after: [...sweepIds],
      reason: `take over the stale lock: ${staleLeaseReason(lease, now)}`,
      precondition: `${lockName} still holds the stale lease of run ${lease.lease.runId}`,
    });
    lockAfter.push(`unlock:${image.name}`);
  }

  // Unpublished AMIs of earlier runs that this run will not resume: nothing will ever publish them.
  // The AMIs a half-done publish is about to finish are not leftovers, though no parameter names them yet.
  const finishing = new Set(unfinished && 'amis' in unfinished.step.amis ? Object.values(unfinished.step.amis.amis) : []);
  for (const build of unpublishedBuilds(state)) {
    if (resumable && build.runId === resumable.runId) continue;
    if (Object.values(build.amis).some((ami) => finishing.has(ami.amiId))) continue;
    const resumableLater = retireOnly && build.version !== undefined && (build.version === next || takenOnlyByLedger(state, build.version, next)) && build.fingerprint === fingerprint && (build.status === 'candidate' || build.status === 'tested');
    for (const [region, ami] of Object.entries(build.amis)) {
      const keptOnPurpose = keepPeriod(ami, input.now, input.settings.keepFailedDays ?? defaultKeepFailedDays);
      const keepReason = resumableLater ? `run ${build.runId} built ${build.version} from what the image is made of now: the next \`gild run\` may resume it` : keptOnPurpose?.kept ? keptOnPurpose.reason : undefined;
      if (keepReason) {
        kept.push({ image: image.name, region, amiId: ami.amiId, version: build.version, reason: `kept on purpose: ${keepReason}` });
        continue;
      }
      steps.push({
        id: `cleanup:${image.name}:${region}:${ami.amiId}`,
        kind: 'cleanup',
        image: image.name,
        region,
        amiId: ami.amiId,
        snapshotIds: ami.snapshotIds,
        status: build.status ?? '(none)',
        after: [lockStepId],
        reason: `${cleanupReason(build, next, fingerprint, resumable !== undefined || buildReason !== undefined)}${keptOnPurpose ? `; ${keptOnPurpose.reason}` : ''}`,
        precondition: `${ami.amiId} is still tagged gild:image=${image.name}, no parameter names it and nothing uses it`,
      });
    }
  }

  // NOTE: no live run holds this image's lock (checked above), so no run is between Packer's CreateImage and tagging.
  for (const region of image.regions) {
    for (const found of untaggedBuilds(inventory, image.name, region, input.runId)) {
      const gone = lease.kind === 'held' && lease.lease.runId === found.runId ? `its lock is stale (${staleLeaseReason(lease, now)})` : `it holds no lock on ${image.name}`;
      steps.push({
        id: `cleanup:${image.name}:${region}:${found.ami.amiId}`,
        kind: 'cleanup',
        image: image.name,
        region,
        amiId: found.ami.amiId,
        snapshotIds: found.ami.snapshotIds,
        status: '(untagged)',
        untagged: { runId: found.runId, version: found.version, name: found.ami.name },
        after: [lockStepId],
        reason: `${found.ami.amiId} carries no gild tags, but its name ${found.ami.name} is the build step's for ${image.name} ${found.version} in run ${found.runId}, which is gone (${gone}): gild stopped between Packer's CreateImage and its tagging. Tag it as gild's, then deregister it with its snapshots`,
        precondition: `${found.ami.amiId} still has no gild:image tag other than ${image.name}, no parameter names it and nothing uses it`,
      });
    }
  }

  for (const region of image.regions) {
    const orphans = orphanSnapshots(inventory, image.name, region);
    if (orphans.length === 0) continue;
    steps.push({
      id: `cleanup:${image.name}:${region}:snapshots`,
      kind: 'cleanup',
      image: image.name,
      region,
      amiId: undefined,
      snapshotIds: orphans,
      status: '(snapshots only)',
      after: [lockStepId],
      reason: `snapshots tagged gild:image=${image.name} whose AMI no longer exists (a removal that stopped halfway)`,
      precondition: 'no AMI uses them',
    });
  }

  let decision: ImageDecision;
  let publishStepId: string | undefined;
  kept.push(...intents.notes);
  if (finishingIntents) {
    steps.push(...intents.steps);
    const firstVersion = intents.steps.find((step): step is Extract<PlanStep, { kind: 'repoint' | 'revoke' }> => step.kind === 'repoint' || step.kind === 'revoke');
    decision = {
      image: image.name,
      action: 'finish',
      reason: `finish the ${intents.versions.join(' and ')}, which stopped half-way (recorded before any pointer moved); nothing is built or published until the next run`,
      currentVersion,
      version: firstVersion?.version ?? currentVersion ?? next,
    };
  } else if (unfinished) {
    publishStepId = `publish:${image.name}`;
    // NOTE: shared again before the pointers move: idempotent, and a definition that changed since is honoured.
    const shares = shareSteps(image, unfinished.step.version, unfinished.step.amis, [lockStepId]);
    steps.push(...shares, { ...unfinished.step, id: publishStepId, after: [lockStepId, ...shares.map((share) => share.id)] });
    decision = { image: image.name, action: 'finish', reason: unfinished.step.reason, currentVersion, version: unfinished.step.version };
  } else if (!base) {
    decision = { image: image.name, action: 'unchanged', reason: 'only retirement is planned: `gild retire` builds and publishes nothing', currentVersion };
  } else if (buildReason === undefined) {
    decision = { image: image.name, action: 'unchanged', reason: `unchanged since ${currentVersion} (same definition, templates and base AMI); use --force to rebuild${heldNote(state)}`, currentVersion };
  } else {
    const producerId = resumable ? `resume:${image.name}` : `build:${image.name}`;
    if (resumable) {
      steps.push({
        id: producerId,
        kind: 'resume',
        image: image.name,
        version: next,
        amis: Object.fromEntries(Object.entries(resumable.amis).map(([region, ami]) => [region, ami.amiId])),
        snapshots: Object.fromEntries(Object.entries(resumable.amis).map(([region, ami]) => [region, ami.snapshotIds])),
        fromRunId: resumable.runId,
        baseAmiId: resumable.baseAmiId ?? '',
        after: [lockStepId],
        reason: `resume ${next} from run ${resumable.runId}: built (${resumable.status}), not published, same fingerprint and base`,
        precondition: `the AMIs of run ${resumable.runId} still exist, unpublished, in every region`,
      });
      decision = { image: image.name, action: 'resume', reason: buildReason, currentVersion, nextVersion: next, fromRunId: resumable.runId };
    } else {
      steps.push({
        id: producerId,
        kind: 'build',
        image: image.name,
        version: next,
        regions: image.regions,
        base: base.base,
        fingerprint,
        amiName: `${image.name}-${next}-${input.runId}`,
        after: [lockStepId, ...(base.base.kind === 'published-in-run' ? [base.base.from] : [])],
        reason: [buildReason, describeGeneralizeChoice(image)].filter(Boolean).join('; '),
        precondition: `no version of ${image.name} was published since this plan was made, and the lock is ours`,
      });
      decision = { image: image.name, action: 'build', reason: buildReason, currentVersion, nextVersion: next };
    }
    steps.push({
      id: `smoke:${image.name}`,
      kind: 'smoke',
      image: image.name,
      version: next,
      amis: { from: producerId },
      previousVersion: currentVersion,
      after: [producerId],
      reason: image.smoke.checks.length > 0 || image.smoke.packageManifest ? `a failing image is never published: ${image.smoke.checks.length} check${image.smoke.checks.length === 1 ? '' : 's'} on ${image.smoke.instanceTypes.join(', ')}` : 'no smoke checks are defined: only tag the AMIs tested',
      precondition: 'the AMIs still exist',
    });
    const shares = shareSteps(image, next, { from: producerId }, [`smoke:${image.name}`]);
    steps.push(...shares);
    publishStepId = `publish:${image.name}`;
    steps.push({
      id: publishStepId,
      kind: 'publish',
      image: image.name,
      version: next,
      amis: { from: producerId },
      writes: [
        ...image.regions.map((region) => ({ region, name: versionParameterName(inventory.ssmPrefix, image.name, next), pointer: 'version' as const, previous: undefined })),
        // NOTE: latest is written last so that a failed run never points at an untested or half-published AMI.
        ...pointerWrites(inventory.ssmPrefix, image, state, next, image.regions),
      ],
      after: [`smoke:${image.name}`, ...shares.map((share) => share.id)],
      reason: `the smoke test passed: publish ${next} in ${image.regions.join(', ')}${heldNote(state)}`,
      precondition: `versions/${next} does not exist yet and latest still holds what was observed`,
    });
  }

  // Plan ahead as if this run's publish happens: `latest` moves to the new AMIs, so the old ones become candidates.
  const newAmi = '(the AMI this run publishes)';
  const publishStep = steps.find((step): step is Extract<PlanStep, { kind: 'publish' }> => step.kind === 'publish');
  const moved: Record<string, Record<string, string>> = {};
  for (const step of intents.steps) if (step.kind === 'repoint') for (const move of step.moves) (moved[move.region] ??= {})[move.name] = move.amiId;
  if (publishStep) {
    for (const write of publishStep.writes) {
      if (write.pointer === 'version') continue;
      const amiId = 'amis' in publishStep.amis ? (publishStep.amis.amis[write.region] ?? newAmi) : newAmi;
      (moved[write.region] ??= {})[write.name] = amiId;
    }
  }
  const afterPublish = unfinished
    ? { versions: state.versions, moved }
    : publishStepId
      ? { versions: [{ version: next, amis: Object.fromEntries(image.regions.map((region) => [region, newAmi])) }, ...state.versions], moved }
      : { versions: state.versions, moved };
  const retirement = planImageRetirement(input, image, state, afterPublish);
  kept.push(...retirement.kept);
  for (const step of retirement.steps) steps.push({ ...step, after: [publishStepId ?? lockStepId, ...intents.steps.map((intent) => intent.id)] });
  steps.push(...planDistribution({ inventory, image, state, publish: retireOnly ? undefined : publishStep, lockStepId, planned: steps, copiesOnly: retireOnly }));

  if (steps.length === 0) return { decision, steps, kept };
  // Every change to an image happens under its lock, and the lock is always given back.
  steps.unshift({
    id: lockStepId,
    kind: 'lock',
    image: image.name,
    region: image.buildRegion,
    parameterName: lockName,
    after: lockAfter,
    reason: `every change to ${image.name} happens under its lock, so two runs never build, publish or retire it at once`,
    precondition: `${lockName} is free${lease.kind === 'held' ? ' once the stale lease is removed' : ''}`,
  });
  const releaseAfter = steps.filter((step) => step.id !== lockStepId && 'image' in step && step.image === image.name).map((step) => step.id);
  steps.push({
    id: `release:${image.name}`,
    kind: 'release',
    image: image.name,
    region: image.buildRegion,
    parameterName: lockName,
    after: [lockStepId, ...releaseAfter],
    reason: 'give the lock back when the image is done, whatever happened',
    precondition: 'the lock is still ours',
  });
  return { decision, steps: steps.sort(byLockFirst(lockStepId)), kept };
}

/** The unlock step (if any) first, then the lock, then the rest in the order planned. */
function byLockFirst(lockStepId: string) {
  const rank = (step: PlanStep) => (step.kind === 'unlock' ? 0 : step.id === lockStepId ? 1 : 2);
  return (a: PlanStep, b: PlanStep) => rank(a) - rank(b);
}

function liveLock(lease: LeaseState, now: Date, lockName: string, imageName: string): { reason: string; lease: Extract<LeaseState, { kind: 'held' }>['lease'] } | undefined {
  if (lease.kind !== 'held' || staleLeaseReason(lease, now) !== undefined) return undefined;
  const { runId, host, pid, takenAt, expiresAt } = lease.lease;
  return {
    lease: lease.lease,
    reason: `run ${runId} (pid ${pid} on ${host}) holds its lock ${lockName} since ${takenAt}; it expires at ${expiresAt} unless renewed. Wait for that run to finish, or if it is gone, run \`gild unlock ${imageName} --yes\``,
  };
}

type ResolvedBase = { readonly base: BuildBase } | { readonly error: string };

function resolveBase(input: AssembleInput, image: ResolvedImage, decided: ReadonlyMap<string, ImageDecision>): ResolvedBase {
  const observed = input.inventory.bases[image.name];
  if (!observed) return { error: `its base was not observed` };
  if (observed.kind === 'unresolved') return { error: observed.reason };
  if (observed.kind === 'resolved') return { base: { kind: 'ami', amiId: observed.amiId, source: observed.source } };
  const source = `image:${observed.image}${observed.range ? `@${observed.range}` : ''}`;
  const dependency = decided.get(observed.image);
  if (dependency?.action === 'error') return { error: `its base image "${observed.image}" cannot be planned: ${dependency.reason}` };
  if ((dependency?.action === 'build' || dependency?.action === 'resume') && (!observed.range || semver.satisfies(dependency.nextVersion, observed.range))) {
    return { base: { kind: 'published-in-run', from: `publish:${observed.image}`, image: observed.image, version: dependency.nextVersion, source: `${source} → ${dependency.nextVersion} (published earlier in this run)` } };
  }
  const dependencyImage = input.images.find((candidate) => candidate.name === observed.image);
  const dependencyState = imageState(input.inventory, observed.image, [image.buildRegion, ...(dependencyImage?.regions ?? [])]);
  // A revoked version is never built on, even while its parameters remain.
  const match = dependencyState.versions.find(
    (published) => (!observed.range || semver.satisfies(published.version, observed.range)) && published.amis[image.buildRegion] && revocation(dependencyState, published.version) === undefined,
  );
  if (!match) return { error: `base image "${observed.image}" has no published version${observed.range ? ` matching ${observed.range}` : ''} in ${image.buildRegion}. Run \`gild run ${observed.image}\` first.` };
  return { base: { kind: 'ami', amiId: match.amis[image.buildRegion]!, source: `${source} → ${match.version}` } };
}

/** Why a version was revoked (`gild revoke` tags its AMIs), or undefined. */
function revocation(state: ImageState, version: string): string | undefined {
  return revocationOf(state, version)?.reason;
}

/** The base AMI an image's newest version was built on, if that AMI was revoked: who made it, which version, why. */
function revokedBase(inventory: Inventory, region: string, amiId: string | undefined): string | undefined {
  const ami = amiId === undefined ? undefined : inventory.regions[region]?.amis.find((candidate) => candidate.amiId === amiId);
  if (ami?.tags['gild:status'] !== 'revoked') return undefined;
  return `its base ${ami.tags['gild:image'] ?? ''} ${ami.tags['gild:version'] ?? ami.amiId} was revoked (${ami.tags['gild:revoked-reason'] ?? 'no reason recorded'})`;
}

function reasonToBuild(input: AssembleInput, image: ResolvedImage, state: ImageState, base: { base: BuildBase }, fingerprint: string): string | undefined {
  // A revoked version is not what latest should follow: the newest good one is.
  const newest = state.versions.find((published) => revocation(state, published.version) === undefined) ?? state.versions[0];
  if (!newest) return 'first build: no version is published yet';
  if (input.force) return 'rebuild forced with --force';
  const missingRegions = image.regions.filter((region) => !newest.amis[region]);
  if (missingRegions.length > 0) return `version ${newest.version} is not published in ${missingRegions.join(', ')}`;
  // A rollback holds latest on an older version on purpose: that is no reason to build.
  const strayLatest = state.holds['latest'] ? [] : image.regions.filter((region) => state.latest[region] !== newest.amis[region]);
  if (strayLatest.length > 0) return `latest in ${strayLatest.join(', ')} does not point to the newest version ${newest.version}`;
  if (base.base.kind === 'published-in-run') return `its base image "${base.base.image}" is rebuilt in this run`;
  const latestAmi = findAmi(state, image.buildRegion, state.holds['latest'] ? newest.amis[image.buildRegion] : state.latest[image.buildRegion]);
  if (!latestAmi) return `the AMI that latest points to in ${image.buildRegion} is gone or not tagged by gild`;
  const tags = latestAmi.tags;
  const own = semver.parse(image.version)!;
  if (semver.major(newest.version) !== own.major || semver.minor(newest.version) !== own.minor) return `the definition moved to ${own.major}.${own.minor}`;
  const revoked = revokedBase(input.inventory, image.buildRegion, tags['gild:base-ami']);
  if (revoked) return revoked;
  if (tags['gild:base-ami'] && tags['gild:base-ami'] !== base.base.amiId) return `the base AMI changed from ${tags['gild:base-ami']} to ${base.base.amiId}`;
  if (tags['gild:fingerprint'] !== fingerprint) return 'what goes into the image changed (the rendered template or the files it uses)';
  const builtAt = Date.parse(tags['gild:built-at'] ?? '');
  const days = input.settings.rebuildAfterDays;
  if (days !== undefined && Number.isFinite(builtAt) && input.now.getTime() - builtAt >= days * DAY_MS) {
    return `version ${newest.version} is ${Math.floor((input.now.getTime() - builtAt) / DAY_MS)} days old (rebuildAfterDays is ${days})`;
  }
  return undefined;
}

function findAmi(state: ImageState, region: string, amiId: string | undefined): ObservedAmi | undefined {
  return amiId === undefined ? undefined : state.amis[region]?.find((ami) => ami.amiId === amiId);
}

/**
 * A publish that stopped halfway: the newest version has `versions/<v>` in some regions and the same run's
 * tested AMIs in the others, or `latest` still names an older version somewhere. Finishing it writes exactly
 * what is missing.
 */
function unfinishedPublish(state: ImageState, image: ResolvedImage, prefix: string): { step: Omit<Extract<PlanStep, { kind: 'publish' }>, 'id' | 'after'> } | undefined {
  // A revoked version is not half-published: its pointers were moved away on purpose. The newest good one is what
  // latest and its v<major> follow, also after a release (the catch-up).
  const newest = state.versions.find((published) => revocation(state, published.version) === undefined);
  if (!newest) return undefined;
  const publishedIn = Object.keys(newest.amis);
  const runIds = new Set(publishedIn.map((region) => findAmi(state, region, newest.amis[region])?.tags['gild:run-id']).filter((runId): runId is string => runId !== undefined));
  if (runIds.size !== 1) return undefined;
  const [runId] = [...runIds];
  const amis: Record<string, string> = {};
  for (const region of image.regions) {
    const named = newest.amis[region];
    const tagged = (state.amis[region] ?? []).find(
      (ami) => ami.tags['gild:run-id'] === runId && ami.tags['gild:version'] === newest.version && ami.state === 'available' && ['tested', 'published'].includes(ami.tags['gild:status'] ?? ''),
    );
    const amiId = named ?? tagged?.amiId;
    if (!amiId) return undefined;
    amis[region] = amiId;
  }
  const writes = [
    ...image.regions.filter((region) => !newest.amis[region]).map((region) => ({ region, name: versionParameterName(prefix, image.name, newest.version), pointer: 'version' as const, previous: undefined })),
    ...pointerWrites(prefix, image, state, newest.version, image.regions, amis),
  ];
  if (writes.length === 0) return undefined;
  const missing = [...new Set(writes.map((write) => `${write.name.slice(imageParameterPath(prefix, image.name).length + 1)} in ${write.region}`))];
  return {
    step: {
      kind: 'publish',
      image: image.name,
      version: newest.version,
      amis: { amis },
      writes,
      // Only pointers missing: a run stopped before moving them, or they were added since (`v<major>` after an upgrade).
      reason: writes.some((write) => write.pointer === 'version' || write.pointer === 'latest')
        ? `finish publishing ${newest.version} (run ${runId} stopped halfway): write ${missing.join(', ')}`
        : `catch up: point ${missing.join(', ')} at ${newest.version}, the newest good version (a release, an upgrade or a stopped run left ${missing.length === 1 ? 'it' : 'them'} behind)`,
      precondition: 'the parameters still hold what was observed',
    },
  };
}

/**
 * One step per region that shares the AMI and its snapshots as the definition says, only once its smoke test
 * passed (so a failing image is never visible outside the account) and before publishing (so whoever a pointer
 * tells about it can launch it). None for a private image: nothing to grant.
 */
function shareSteps(image: ResolvedImage, version: string, amis: AmiSource, after: readonly string[]): Extract<PlanStep, { kind: 'share' }>[] {
  const launchPermissions = expectedLaunchPermissions(image);
  const grantees = image.launchPermissions.kind === 'public' ? [`everyone (public: ${image.launchPermissions.reason})`] : describeGrantees(launchPermissions);
  const sharing =
    grantees.length === 0
      ? 'the image stays private: any grant on the AMI or its snapshots is removed'
      : `share with ${grantees.join(', ')}; any other grant on the AMI or its snapshots is removed`;
  return image.regions.map((region) => ({
    id: `share:${image.name}:${region}`,
    kind: 'share',
    image: image.name,
    version,
    region,
    amis,
    launchPermissions,
    volumePermissions: expectedVolumePermissions(image),
    description: image.description,
    after: [...after],
    reason: `after the smoke test, set the description and ${sharing}`,
    precondition: `the AMI in ${region} is still tagged gild:image=${image.name} and gild:version=${version}, and available`,
  }));
}

/** An earlier run's build of exactly what would be built now, in every region, that nothing published. */
/**
 * The version an unpublished, resumable build carries when the only trace of that number is the ledger's record (its
 * own publish raised the ledger, then the run died): no parameter, no other AMI's tags, no revocation names it, and it
 * is the newest number used, so nothing was numbered after it. Then the number is that AMI's, and it resumes as it.
 */
function numberOnlyThisBuildTook(state: ImageState, builds: readonly UnpublishedBuild[], image: ResolvedImage, nextUnused: string, fingerprint: string, base: { base: BuildBase }): { version: string; build: UnpublishedBuild } | undefined {
  for (const version of new Set(builds.map((build) => build.version))) {
    if (version === undefined || !takenOnlyByLedger(state, version, nextUnused)) continue;
    const build = findResumable(builds, image, version, fingerprint, base);
    if (build) return { version, build };
  }
  return undefined;
}

/** Whether `version` is the newest number used and the ledger's record is its only trace (see numberOnlyThisBuildTook). */
function takenOnlyByLedger(state: ImageState, version: string, nextUnused: string): boolean {
  if (semver.valid(version) === null || semver.inc(version, 'patch') !== nextUnused) return false;
  const line = `${semver.major(version)}.${semver.minor(version)}`;
  if (state.ledger.built[line] !== version || Object.hasOwn(state.ledger.revoked, version)) return false;
  const { [line]: _ledgerEntry, ...otherLines } = state.ledger.built;
  const otherTraces = usedVersions({ ...state, ledger: { ...state.ledger, built: otherLines } });
  return !otherTraces.includes(version) && revocationOf(state, version) === undefined;
}

function findResumable(builds: readonly UnpublishedBuild[], image: ResolvedImage, version: string, fingerprint: string, base: { base: BuildBase }): UnpublishedBuild | undefined {
  if (base.base.kind !== 'ami') return undefined;
  const baseAmiId = base.base.amiId;
  return builds
    .filter(
      (build) =>
        build.version === version &&
        build.fingerprint === fingerprint &&
        build.baseAmiId === baseAmiId &&
        (build.status === 'candidate' || build.status === 'tested') &&
        image.regions.every((region) => build.amis[region]?.state === 'available') &&
        Object.keys(build.amis).length === image.regions.length,
    )
    .sort((a, b) => b.runId.localeCompare(a.runId))[0];
}

/**
 * An AMI tagged `gild:keep-reason` is kept until its `gild:keep-until`, then cleaned up like any unpublished AMI.
 * One kept by a gild that stamped no end is kept `keepFailedDays` from its build (or creation).
 */
function keepPeriod(ami: ObservedAmi, now: Date, keepFailedDays: number): { kept: boolean; reason: string } | undefined {
  const keepReason = ami.tags['gild:keep-reason'];
  if (!keepReason) return undefined;
  const stamped = Date.parse(ami.tags['gild:keep-until'] ?? '');
  const since = Date.parse(ami.tags['gild:built-at'] ?? ami.createdAt);
  const until = Number.isFinite(stamped) ? stamped : Number.isFinite(since) ? since + keepFailedDays * DAY_MS : Number.POSITIVE_INFINITY;
  if (until === Number.POSITIVE_INFINITY) return { kept: true, reason: `${keepReason} (no keep period can be read from its tags)` };
  const untilText = new Date(until).toISOString();
  const how = Number.isFinite(stamped) ? 'gild:keep-until' : `keepFailedDays ${keepFailedDays} from its build`;
  if (now.getTime() < until) return { kept: true, reason: `${keepReason} (until ${untilText}, ${how})` };
  return { kept: false, reason: `it was kept on purpose (${keepReason}) until ${untilText} (${how}), and that has passed` };
}

function cleanupReason(build: UnpublishedBuild, nextVersion: string, fingerprint: string, building: boolean): string {
  const what = `built by run ${build.runId} (gild:status=${build.status ?? 'none'}${build.version ? `, version ${build.version}` : ''}) and never published`;
  if (build.status === 'failed') return `${what}: it failed (${Object.values(build.amis)[0]?.tags['gild:failure'] ?? 'no reason recorded'})`;
  if (build.version !== nextVersion) return `${what}: the next version is ${nextVersion} now, so it can never be published`;
  if (build.fingerprint !== fingerprint) return `${what}: what goes into the image changed since, so it can never be published`;
  if (!building) return `${what}: the published version is unchanged, so nothing will publish it`;
  return `${what}: it is incomplete or built from another base, so it cannot be resumed`;
}

/**
 * The pointers a publish of `version` moves, per region: `v<major>` when it is the newest of its major, then
 * `latest`; a held pointer stays where the rollback put it. Channels never move on publish.
 */
function pointerWrites(prefix: string, image: ResolvedImage, state: ImageState, version: string, regions: readonly string[], amis?: Readonly<Record<string, string>>): ParameterWrite[] {
  const major = semver.major(version);
  // A revoked version is never what v<major> should name, however new.
  const newestOfMajor = !state.versions.some((published) => semver.major(published.version) === major && semver.gt(published.version, version) && revocation(state, published.version) === undefined);
  const writes: ParameterWrite[] = [];
  const add = (pointer: 'major' | 'latest', relative: string, name: string) => {
    if (state.holds[relative]) return;
    for (const region of regions) {
      const previous = state.pointers[region]?.[name];
      if (amis && previous === amis[region]) continue;
      writes.push({ region, name, pointer, previous });
    }
  };
  if (newestOfMajor) add('major', `v${major}`, majorParameterName(prefix, image.name, major));
  add('latest', 'latest', latestParameterName(prefix, image.name));
  return writes;
}

const heldNote = (state: ImageState) => {
  const held = Object.entries(state.holds);
  return held.length === 0 ? '' : ` (${held.map(([pointer, hold]) => describeHold(pointer, hold)).join('; ')}: not moved)`;
};

function planImageRetirement(
  input: AssembleInput,
  image: ResolvedImage,
  state: ImageState,
  after: { readonly versions: readonly { readonly version: string; readonly amis: Readonly<Record<string, string>> }[]; readonly moved: Readonly<Record<string, Readonly<Record<string, string>>>> },
): { steps: Omit<Extract<PlanStep, { kind: 'retire' }>, 'after'>[]; kept: KeptResource[] } {
  const path = `${imageParameterPath(input.inventory.ssmPrefix, image.name)}/`;
  const pointers: Record<string, Record<string, string>> = {};
  const ownedAmis: Record<string, Record<string, ObservedAmi>> = {};
  const references: Record<string, readonly string[]> = {};
  const sharedWith: Record<string, readonly string[]> = {};
  const snapshotUsers: Record<string, readonly string[]> = {};
  for (const region of image.regions) {
    const regionPointers: Record<string, string> = {};
    for (const [name, amiId] of Object.entries({ ...state.pointers[region], ...after.moved[region] })) regionPointers[name.slice(path.length)] = amiId;
    pointers[region] = regionPointers;
    ownedAmis[region] = Object.fromEntries((state.amis[region] ?? []).map((ami) => [ami.amiId, ami]));
    Object.assign(references, input.inventory.regions[region]?.references);
    Object.assign(sharedWith, input.inventory.regions[region]?.sharing);
    Object.assign(snapshotUsers, input.inventory.regions[region]?.snapshotUsers);
  }
  const { steps, kept } = planRetirementPolicy({
    image: image.name,
    ssmPrefix: input.inventory.ssmPrefix,
    policy: image.retention,
    now: input.now.toISOString(),
    published: Object.fromEntries(after.versions.map((published) => [published.version, published.amis])),
    pointers,
    held: Object.fromEntries(Object.entries(state.holds).map(([pointer, hold]) => [hold.version, describeHold(pointer, hold)])),
    pinned: {},
    ownedAmis,
    references,
    sharedWith,
    snapshotUsers,
  });
  // NOTE: two AMIs of one version in one region (left by a gild older than its locks) need two steps: the AMI tells them apart.
  const counts = new Map<string, number>();
  for (const step of steps) counts.set(step.id, (counts.get(step.id) ?? 0) + 1);
  return { steps: steps.map(({ after: _after, ...step }) => ((counts.get(step.id) ?? 0) > 1 ? { ...step, id: `${step.id}:${step.amiId}` } : step)), kept };
}

/**
 * Owned AMIs without gild tags named exactly as the build step names an image's build (`<image>-<version>-<runId>`,
 * see `amiName`), of another run than this one. `web-api-1.0.0-…` is not `web`'s: its version would not parse.
 */
function untaggedBuilds(inventory: Inventory, imageName: string, region: string, runId: string): { ami: ObservedAmi; version: string; runId: string }[] {
  const pattern = new RegExp(`^${imageName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(.+)-(\\d{8}T\\d{6}Z-[a-z0-9]+)$`);
  return (inventory.regions[region]?.untaggedAmis ?? []).flatMap((ami) => {
    const match = pattern.exec(ami.name);
    if (!match || ami.tags['gild:image'] !== undefined || !semver.valid(match[1]!) || match[2] === runId) return [];
    return [{ ami, version: match[1]!, runId: match[2]! }];
  });
}

/** Snapshots of an image that no AMI in the region (of any status) uses any more. */
function orphanSnapshots(inventory: Inventory, imageName: string, region: string): string[] {
  const regionInventory = inventory.regions[region];
  if (!regionInventory) return [];
  const used = new Set(regionInventory.amis.flatMap((ami) => ami.snapshotIds));
  return regionInventory.snapshots.filter((snapshot) => snapshot.tags['gild:image'] === imageName && !used.has(snapshot.snapshotId)).map((snapshot) => snapshot.snapshotId);
}

/** AMIs the plan may delete, per region: who uses them is observed before the final plan is assembled. */
export function deletionCandidates(plan: RunPlan): Record<string, string[]> {
  const candidates: Record<string, string[]> = {};
  for (const step of plan.steps) if ((step.kind === 'retire' || step.kind === 'cleanup') && step.amiId) (candidates[step.region] ??= []).push(step.amiId);
  return candidates;
}
