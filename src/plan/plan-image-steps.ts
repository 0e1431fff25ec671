/**
 * One image's part of the plan, question by question, each answered in its own module from what it needs:
 * is its lock free (plan-image-lock.ts), what version comes next and what to build or resume (plan-build.ts), which
 * leftovers to clean up (plan-leftovers.ts), what the smoke test is and what goes if it fails (plan-smoke.ts), whom
 * to share with (plan-share-steps.ts), what to publish or finish publishing (plan-publish.ts), what to retire
 * (plan-image-retirement.ts), and what other accounts get (plan-distribution.ts). Pure, like assemblePlan.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { defaultKeepFailedDays } from '../settings/schema.ts';
import type { AssembleInput } from './assemble-plan.ts';
import { imageState, revocationOf, unpublishedBuilds, usedVersions, type ImageState } from './image-state.ts';
import { nextVersion } from './next-version.ts';
import { lockParameterName } from './parameter-names.ts';
import { findResumable, numberOnlyThisBuildTook, producerStep, reasonToBuild, resolveBase } from './plan-build.ts';
import { planProtection, withProtectionRemoved } from './plan-protection.ts';
import { planRegionCopies } from './plan-region-copies.ts';
import { planPackerExit } from './plan-packer-exit.ts';
import { planDistribution } from './plan-distribution.ts';
import { planImageRetirement } from './plan-image-retirement.ts';
import { liveLock, lockStepIdOf, unlockStep, withinLock } from './plan-image-lock.ts';
import { planLeftovers } from './plan-leftovers.ts';
import { heldNote, publishStep, unfinishedPublish } from './plan-publish.ts';
import { shareSteps } from './plan-share-steps.ts';
import { discardSteps, regionSmokeSteps, smokeStep } from './plan-smoke.ts';
import { planUnfinishedIntents } from './plan-unfinished-intents.ts';
import type { ImageDecision, KeptResource, PlanStep } from './run-plan.ts';

export interface PlannedImage {
  readonly decision: ImageDecision;
  readonly steps: PlanStep[];
  readonly kept: KeptResource[];
}

export function planImageSteps(input: AssembleInput, image: ResolvedImage, decided: ReadonlyMap<string, ImageDecision>, sweepIds: readonly string[]): PlannedImage {
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
      decision: {
        image: image.name,
        action: 'error',
        kind: 'pipeline',
        reason: `its lock ${lockName} in ${image.buildRegion} holds "${lease.raw.slice(0, 80)}", which is not a gild lease. If no run is working on it, remove it with \`gild unlock ${image.name} --yes\`.`,
      },
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
  // Every image's AMIs are passed, so that a revoke whose `gild:base-revoked` marks were never all made (killed after
  // recording it) has them made by the next run too, not only by the next lifecycle command.
  const intents = planUnfinishedIntents({ image, state, prefix: inventory.ssmPrefix, now, channels: input.settings.channels ?? {}, inventory });
  // NOTE: marks go on other images' AMIs and move none of this image's pointers: a revoke missing only its marks does
  // not hold this image's build and publish back; they are made beside them, under this image's lock.
  const marks = intents.steps.filter((step) => step.kind === 'mark-descendant');
  // Likewise what a revoke left undone in distribution accounts: those steps move only the accounts' pointers, and a run
  // plans them itself beside the build (planAccountFollowUps in plan-distribution.ts), so they are not taken from here.
  const inAccounts = intents.steps.filter((step) => step.kind === 'account-revoke' || step.kind === 'account-repoint' || step.kind === 'account-restore');
  const finishingIntents = intents.steps.length > marks.length + inAccounts.length;
  // NOTE: a half-done publish beside half-done pointer moves (a promote or rollback killed after a publish was) is
  // finished in the same run when the moves touch none of the parameters it writes: left for a run after, the version's
  // pointers would disagree between regions after a run that completed. Beside a revoke or restore it still waits.
  const halfPublished = base ? unfinishedPublish(state, image, inventory.ssmPrefix) : undefined;
  const unfinished = halfPublished && (!finishingIntents || publishBesideIntents(halfPublished.step, intents.steps)) ? halfPublished : undefined;
  const buildReason = !base || unfinished || finishingIntents ? undefined : reasonToBuild(input, image, state, base, fingerprint);
  // NOTE: a publish raises the ledger before it names the AMI; a run killed right after leaves its own number in the
  // ledger. Resuming that same AMI under that number is not building the number twice (that rule is: never a different AMI).
  const ownNumber =
    !base || buildReason === undefined || !version.ok ? undefined : numberOnlyThisBuildTook(state, unpublishedBuilds(state), image, version.version, fingerprint, base, input.settings.regionCopies);
  const next: string = ownNumber?.version ?? nextUnused;
  const resumable = !base || buildReason === undefined ? undefined : (ownNumber?.build ?? findResumable(unpublishedBuilds(state), image, next, fingerprint, base, input.settings.regionCopies));

  const steps: PlanStep[] = [];
  const kept: KeptResource[] = [];
  const lockStepId = lockStepIdOf(image);
  const unlock = unlockStep(image, lease, lockName, now, sweepIds);
  if (unlock) steps.push(unlock);
  const lockAfter = [...sweepIds, ...(unlock ? [unlock.id] : [])];

  // Unpublished AMIs of earlier runs that this run will not resume: nothing will ever publish them.
  const leftovers = planLeftovers({
    image,
    state,
    inventory,
    runId: input.runId,
    now,
    keepFailedDays: input.settings.keepFailedDays ?? defaultKeepFailedDays,
    lease,
    retireOnly,
    next,
    fingerprint,
    resumableRunId: resumable?.runId,
    building: resumable !== undefined || buildReason !== undefined,
    finishing: new Set(unfinished && 'amis' in unfinished.step.amis ? Object.values(unfinished.step.amis.amis) : []),
    lockStepId,
  });
  steps.push(...leftovers.steps);
  kept.push(...leftovers.kept);

  let decision: ImageDecision;
  let publishStepId: string | undefined;
  kept.push(...intents.notes);
  if (!finishingIntents) steps.push(...marks);
  if (finishingIntents) steps.push(...intents.steps);
  if (unfinished) {
    publishStepId = `publish:${image.name}`;
    // NOTE: shared again before the pointers move: idempotent, and a definition that changed since is honoured.
    const shares = shareSteps(image, unfinished.step.version, unfinished.step.amis, [lockStepId]);
    steps.push(...shares, { ...unfinished.step, id: publishStepId, after: [lockStepId, ...shares.map((share) => share.id)] });
  }
  if (finishingIntents) {
    const firstVersion = intents.steps.find((step): step is Extract<PlanStep, { kind: 'repoint' | 'revoke' }> => step.kind === 'repoint' || step.kind === 'revoke');
    decision = {
      image: image.name,
      action: 'finish',
      reason: unfinished
        ? `finish the ${intents.versions.join(' and ')}, which stopped half-way (recorded before any pointer moved), and ${unfinished.step.reason}; nothing is built until the next run`
        : `finish the ${intents.versions.join(' and ')}, which stopped half-way (recorded before any pointer moved); nothing is built or published until the next run`,
      currentVersion,
      version: firstVersion?.version ?? currentVersion ?? next,
    };
  } else if (unfinished) {
    decision = { image: image.name, action: 'finish', reason: unfinished.step.reason, currentVersion, version: unfinished.step.version };
  } else if (!base) {
    decision = { image: image.name, action: 'unchanged', reason: 'only retirement is planned: `gild retire` builds and publishes nothing', currentVersion };
  } else if (buildReason === undefined) {
    decision = {
      image: image.name,
      action: 'unchanged',
      reason: `unchanged since ${currentVersion} (same definition, templates and base AMI); use --force to rebuild${heldNote(state)}`,
      currentVersion,
    };
  } else {
    const producer = producerStep({ image, runId: input.runId, version: next, base: base.base, fingerprint, resumable, reason: buildReason, lockStepId });
    const producerId = producer.id;
    steps.push(producer);
    decision = resumable
      ? { image: image.name, action: 'resume', reason: buildReason, currentVersion, nextVersion: next, fromRunId: resumable.runId }
      : { image: image.name, action: 'build', reason: buildReason, currentVersion, nextVersion: next };
    const smoke = smokeStep(image, next, producerId, currentVersion);
    // `smoke.regions: 'all'`: each region's AMI is tested there too before it is shared, and all before the publish.
    const regionSmokes = regionSmokeSteps(image, next, producerId, smoke.id);
    const smokeIds = [smoke.id, ...regionSmokes.map((regionSmoke) => regionSmoke.id)];
    steps.push(smoke, ...regionSmokes, ...discardSteps(image, next, producerId, smokeIds));
    const shares = shareSteps(image, next, { from: producerId }, [smoke.id]).map((share) => {
      const regionSmoke = regionSmokes.find((candidate) => candidate.region === share.region);
      return regionSmoke ? { ...share, after: [...share.after, regionSmoke.id] } : share;
    });
    steps.push(...shares);
    const publish = publishStep({ image, state, prefix: inventory.ssmPrefix, version: next, producerId, after: [...smokeIds, ...shares.map((share) => share.id)] });
    publishStepId = publish.id;
    steps.push(publish);
  }

  if (marks.length > 0 && !finishingIntents) decision = { ...decision, reason: `${decision.reason}; and finish the ${intents.versions.join(' and ')}: mark what was built on it gild:base-revoked` };

  const retirement = retirementSteps(input, image, state, { intents: finishingIntents ? intents.steps : [], unfinished: unfinished !== undefined, publishStepId, next, lockStepId, planned: steps });
  kept.push(...retirement.kept);
  steps.push(...retirement.steps.map((step) => (step.kind === 'retire' ? withProtectionRemoved(step, state) : step)));
  const publish = steps.find((step): step is Extract<PlanStep, { kind: 'publish' }> => step.kind === 'publish');
  if (input.settings.protection && !retireOnly)
    steps.push(...planProtection({ image, state, publish, lockStepId, retiring: new Set(retirement.steps.flatMap((step) => (step.kind === 'retire' ? [step.amiId] : []))) }));
  steps.push(
    ...planDistribution({ inventory, image, state, publish: retireOnly ? undefined : publish, lockStepId, planned: steps, copiesOnly: retireOnly, now, channels: input.settings.channels ?? {} }),
  );
  // gild's own region copies beside the smoke test, when settings say so (plan-region-copies.ts).
  steps.splice(0, steps.length, ...planRegionCopies({ image, steps, regionCopies: input.settings.regionCopies, state, images: input.images }));
  // The build hands on its AMI before Packer exits; what must wait for Packer's exit waits for this step (plan-packer-exit.ts).
  steps.splice(0, steps.length, ...planPackerExit(image, steps));

  // Every change to an image happens under its lock, and the lock is always given back.
  return { decision, steps: withinLock(image, lease, lockName, lockAfter, steps), kept };
}

/**
 * Whether a half-done publish can be finished beside the unfinished intents: only beside pointer moves (a promote or
 * rollback cut short) that write none of the parameters the publish writes. A revoke or restore being finished changes
 * what the newest good version is, and a move of the same pointer would race the publish's write; those wait a run.
 */
function publishBesideIntents(publish: { readonly writes: readonly { readonly region: string; readonly name: string }[] }, intents: readonly PlanStep[]): boolean {
  const written = new Set(publish.writes.map((write) => `${write.region} ${write.name}`));
  return intents.every(
    (step) =>
      step.kind === 'mark-descendant' ||
      step.kind === 'account-revoke' ||
      step.kind === 'account-repoint' ||
      step.kind === 'account-restore' ||
      (step.kind === 'repoint' && step.moves.every((move) => !written.has(`${move.region} ${move.name}`))),
  );
}

/**
 * Retirement planned ahead as if this run's publish happens: `latest` moves to the new AMIs, so the old ones become
 * candidates; a finished repoint moves what it moves.
 */
function retirementSteps(
  input: AssembleInput,
  image: ResolvedImage,
  state: ImageState,
  run: {
    readonly intents: readonly PlanStep[];
    readonly unfinished: boolean;
    readonly publishStepId: string | undefined;
    readonly next: string;
    readonly lockStepId: string;
    readonly planned: readonly PlanStep[];
  },
): { steps: PlanStep[]; kept: KeptResource[] } {
  const newAmi = '(the AMI this run publishes)';
  const publish = run.planned.find((step): step is Extract<PlanStep, { kind: 'publish' }> => step.kind === 'publish');
  const moved: Record<string, Record<string, string>> = {};
  for (const step of run.intents) if (step.kind === 'repoint') for (const move of step.moves) (moved[move.region] ??= {})[move.name] = move.amiId;
  if (publish) {
    for (const write of publish.writes) {
      if (write.pointer === 'version') continue;
      const amiId = 'amis' in publish.amis ? (publish.amis.amis[write.region] ?? newAmi) : newAmi;
      (moved[write.region] ??= {})[write.name] = amiId;
    }
  }
  const restored: Record<string, Set<string>> = {};
  for (const step of run.intents) if (step.kind === 'restore') (restored[step.region] ??= new Set()).add(step.amiId);
  const afterPublish = run.unfinished
    ? { versions: state.versions, moved, restored }
    : run.publishStepId
      ? { versions: [{ version: run.next, amis: Object.fromEntries(image.regions.map((region) => [region, newAmi])) }, ...state.versions], moved, restored }
      : { versions: state.versions, moved, restored };
  const retirement = planImageRetirement(input, image, state, afterPublish);
  return { steps: retirement.steps.map((step) => ({ ...step, after: [run.publishStepId ?? run.lockStepId, ...run.intents.map((intent) => intent.id)] })), kept: retirement.kept };
}
