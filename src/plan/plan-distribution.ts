/**
 * Owned copies in other accounts (`distribution.accounts`), planned purely from what was observed there. After the
 * building account publishes a version (in this run, or earlier), each account gets, per region, its own copy of
 * the AMI (`distribute`), then the same parameters as the building account (`account-publish`: `versions/<v>`,
 * `v<major>`, `latest`), naming its copies. What is already there is not planned again: a rerun after a crash
 * finishes what is missing, and a run with nothing missing plans nothing for the account.
 *
 * Copies follow their source out: once the building account deregisters a version (in this run, or before), its
 * copies in the other accounts are removed too, unless a pointer there still names them.
 */
import semver from 'semver';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { AccountInventory, Inventory, ObservedAmi } from '../observe/inventory.ts';
import { revocationOf, type ImageState } from './image-state.ts';
import { planAccountRestore, planAccountRevocation } from './plan-account-lifecycle.ts';
import { goodVersions, publishedTime } from './plan-revocation.ts';
import { restorationOf } from './version-ledger.ts';
import { imageParameterPath, latestParameterName, majorParameterName, versionFromParameterName, versionParameterName } from './parameter-names.ts';
import type { ParameterWrite, PlanStep, StepOfKind } from './run-plan.ts';
import { ofAnotherPipeline } from './prefix-tag.ts';

export interface DistributionInput {
  readonly inventory: Inventory;
  readonly image: ResolvedImage;
  readonly state: ImageState;
  /** The image's publish step in this run, if any: its AMIs are known only after it. */
  readonly publish: StepOfKind<'publish'> | undefined;
  /** What the steps wait for when nothing is published in this run. */
  readonly lockStepId: string;
  /** The image's steps planned so far: a copy goes after its source's `retire` (deregister) step. */
  readonly planned: readonly PlanStep[];
  /** `gild retire`: only the copies of retired versions, no distribution. */
  readonly copiesOnly?: boolean;
  readonly now: Date;
  /** Declared channels and their soak: a channel in an account moves off a revoked copy by the same rule. */
  readonly channels: Readonly<Record<string, { readonly soakDays: number }>>;
}

/** A copy in another account is this version's copy of this source when its tags say so. */
export function isCopyOf(ami: ObservedAmi, image: string, version: string, sourceAmiId: string): boolean {
  return ami.tags['gild:image'] === image && ami.tags['gild:version'] === version && ami.tags['gild:source-ami'] === sourceAmiId;
}

export function planDistribution(input: DistributionInput): PlanStep[] {
  if (input.image.distribution.length === 0) return [];
  // A revoke or restore the accounts have not followed yet (an account unreadable then, or a crash) is followed now,
  // beside whatever the run builds: the building account's side of it is done.
  const followUps = input.copiesOnly ? [] : planAccountFollowUps(input);
  input = { ...input, planned: [...input.planned, ...followUps] };
  const steps = [...followUps, ...(input.copiesOnly ? [] : planCopies(input))];
  // Pointers there move before an old copy goes; a pointer this run moves off a copy no longer keeps it.
  const publishes = steps.filter((step): step is StepOfKind<'account-publish'> => step.kind === 'account-publish');
  const moving = new Set([...publishes.flatMap((step) => step.writes.map((write) => `${step.account} ${write.region} ${write.name}`)), ...accountMoves(input.planned)]);
  const retirements = planCopyRetirement(input, moving).map((step) => ({ ...step, after: [...step.after, ...publishes.filter((other) => other.account === step.account).map((other) => other.id)] }));
  return [...steps, ...retirements];
}

/**
 * The accounts' part of every revoke and restore of the image, planned as any later command plans it
 * (plan-account-lifecycle.ts), except what the plan already holds (a lifecycle command's finishing steps).
 */
function planAccountFollowUps(input: DistributionInput): PlanStep[] {
  const { image, state, inventory } = input;
  const good = goodVersions(state, image);
  const steps: PlanStep[] = [];
  const versions = new Set([...Object.keys(state.ledger.revoked), ...Object.values(state.amis).flatMap((amis) => amis.flatMap((ami) => (ami.tags['gild:version'] ? [ami.tags['gild:version']] : [])))]);
  for (const version of [...versions].filter((candidate) => semver.valid(candidate)).sort(semver.compare)) {
    const sources = Object.values(state.amis).flatMap((amis) => amis.filter((ami) => ami.tags['gild:version'] === version && ami.state !== 'deregistered'));
    // A version the building account no longer has is retired there: its copies follow that instead.
    if (sources.length === 0 || sources.some((ami) => ami.tags['gild:status'] === 'retiring')) continue;
    const revocation = revocationOf(state, version);
    const restored = revocation ? undefined : restorationOf(state.ledger, version);
    if (revocation) {
      steps.push(
        ...planAccountRevocation({
          image,
          state,
          inventory,
          now: input.now,
          channels: input.channels,
          version,
          reason: revocation.reason,
          by: revocation.by,
          disable: sources.some((ami) => ami.tags['gild:revoked-disable'] === 'true'),
          replacement: revocation.replacement,
          good: good.filter((candidate) => candidate.version !== version),
          publishedAt: (candidate) => publishedTime(state, image.buildRegion, candidate),
          after: [input.lockStepId],
          finishing: true,
        }).steps,
      );
    } else if (restored) {
      const ledgerRevocation = state.ledger.revoked[version]!;
      steps.push(
        ...planAccountRestore({
          image,
          state,
          inventory,
          version,
          reason: restored.reason,
          by: restored.by,
          revoked: { reason: ledgerRevocation.reason, at: ledgerRevocation.at, by: ledgerRevocation.by },
          good,
          after: [input.lockStepId],
          finishing: `finish the restore of ${version} (by ${restored.by} at ${restored.at})`,
        }).steps,
      );
    }
  }
  const planned = new Set(input.planned.map((step) => step.id));
  return steps.filter((step) => !planned.has(step.id));
}

/** The pointers in other accounts the plan already moves (a revoke or restore followed there), as `<account> <region> <name>`. */
function accountMoves(planned: readonly PlanStep[]): Set<string> {
  return new Set(planned.flatMap((step) => (step.kind === 'account-repoint' ? step.moves.map((move) => `${step.account} ${move.region} ${move.name}`) : [])));
}

function planCopies(input: DistributionInput): PlanStep[] {
  const { image, state, publish, inventory } = input;
  // NOTE: a pointer a revoke (or restore) being finished moves there is its to move: the publish leaves it.
  const movedByLifecycle = accountMoves(input.planned);
  // A revoked version is pulled everywhere: it is never handed to another account, and the accounts follow the
  // building account's pointers back to the newest good version.
  const revoked = new Set(state.versions.map((published) => published.version).filter((candidate) => isRevoked(state, candidate)));
  const newest = state.versions.find((published) => !revoked.has(published.version));
  const version = publish?.version ?? newest?.version;
  if (!version) return [];
  const sourceOf = (region: string): { from: string } | { amiId: string } | undefined => (publish ? { from: publish.id } : newest?.amis[region] ? { amiId: newest.amis[region]! } : undefined);

  const steps: PlanStep[] = [];
  for (const target of image.distribution) {
    const observed: AccountInventory | undefined = inventory.accounts?.[target.roleArn];
    const unreadable = observed?.kind === 'unreachable' ? observed.reason : observed ? undefined : 'it was not observed';
    const regions = observed?.kind === 'observed' ? observed.regions : {};
    const copies: Record<string, { from: string } | { amiId: string }> = {};
    const distributeIds: string[] = [];
    const writes: ParameterWrite[] = [];
    const repointed: string[] = [];
    for (const region of target.regions) {
      const source = sourceOf(region);
      // The building account has no AMI of this version here (yet): its own plan finishes that first.
      if (!source) continue;
      const ofSource = 'amiId' in source ? (regions[region]?.amis ?? []).filter((ami) => isCopyOf(ami, image.name, version, source.amiId)) : [];
      const existing = ofSource.find((ami) => ami.state !== 'failed');
      // NOTE: a failed copy keeps its name, which a new copy needs (AMI names are unique per account and region): it goes first.
      const failedIds: string[] = [];
      for (const failed of existing ? [] : ofSource.filter((ami) => ami.state === 'failed')) {
        const id = `retire-copy:${image.name}:${target.account}:${version}:${region}:${failed.amiId}`;
        failedIds.push(id);
        steps.push({
          id,
          ...copyRemoval(image, version, target, region, failed),
          parameterName: undefined,
          after: [input.lockStepId],
          reason: `its copy ${failed.amiId} of ${version} in account ${target.account} failed (${failed.name}): it is deregistered so that the copy can be made again`,
          precondition: `${failed.amiId} is still tagged gild:image=${image.name}, no parameter there names it and nothing uses it`,
        });
      }
      if (existing?.state === 'available') {
        copies[region] = { amiId: existing.amiId };
      } else {
        const id = `distribute:${image.name}:${target.account}:${region}`;
        const why = publish
          ? `${version} is published in this run`
          : unreadable
            ? `what the account holds could not be read (${unreadable}); the copy is tried, and fails with the reason if the role still cannot be assumed`
            : existing
              ? `its copy ${existing.amiId} is ${existing.state}: wait for it`
              : failedIds.length > 0
                ? `its copy of ${version} there failed: copy it again`
                : `it has no copy of ${version} there yet`;
        steps.push({
          id,
          kind: 'distribute',
          image: image.name,
          version,
          account: target.account,
          roleArn: target.roleArn,
          region,
          source,
          kmsKeyId: target.kmsKeyId,
          after: [publish?.id ?? input.lockStepId, ...failedIds],
          reason: `account ${target.account} gets its own copy of ${image.name} ${version} in ${region}, which it owns and keeps whatever happens to the building account's AMI: ${why}`,
          precondition: `the source AMI is still available in ${region}`,
        });
        copies[region] = { from: id };
        distributeIds.push(id);
      }
      const parameters = regions[region]?.parameters ?? [];
      const regionWrites = parameterWrites(inventory.ssmPrefix, image, state, version, region, parameters, 'amiId' in copies[region]! ? copies[region].amiId : undefined, revoked).filter(
        (write) => write.pointer === 'version' || !movedByLifecycle.has(`${target.account} ${region} ${write.name}`),
      );
      writes.push(...regionWrites);
      for (const write of regionWrites) {
        const named = regions[region]?.amis.find((ami) => write.previous !== undefined && ami.amiId === write.previous)?.tags['gild:version'];
        if (write.pointer !== 'version' && named !== undefined && revoked.has(named))
          repointed.push(`${write.name.slice(imageParameterPath(inventory.ssmPrefix, image.name).length + 1)} in ${region} (${named})`);
      }
    }
    if (distributeIds.length === 0 && writes.length === 0) continue;
    // A copy is smoke-tested until it passes: a new one, one a run copied but did not get to test (`gild:status=copied`),
    // or one that failed (it is never published there untested).
    // NOTE: a region skipped above (no source there yet) has no entry in `copies`.
    const untested = target.regions.some((region) => {
      const copy = copies[region];
      return copy !== undefined && 'amiId' in copy && regions[region]?.amis.some((ami) => ami.amiId === copy.amiId && ['copied', 'failed'].includes(ami.tags['gild:status'] ?? ''));
    });
    const smokeId = `account-smoke:${image.name}:${target.account}`;
    const smoke = target.smoke && (distributeIds.length > 0 || untested) ? (typeof target.smoke === 'object' ? target.smoke : {}) : undefined;
    if (smoke) {
      const region = target.regions.find((candidate) => copies[candidate]) ?? target.regions[0]!;
      // Every region the copy is in, when the account (or else the image) says `all`: launched there in parallel.
      const everyRegion = (smoke.regions ?? (image.smoke.regions === 'all' ? 'all' : 'first')) === 'all';
      const smokedRegions = target.regions.filter((candidate) => copies[candidate]);
      steps.push({
        id: smokeId,
        kind: 'account-smoke',
        image: image.name,
        version,
        account: target.account,
        roleArn: target.roleArn,
        region,
        ...(everyRegion && smokedRegions.length > 1 ? { regions: smokedRegions } : {}),
        copies,
        launch: { subnetId: smoke.subnetId, securityGroupIds: smoke.securityGroupIds ?? [], instanceProfile: smoke.instanceProfile },
        after: distributeIds.length > 0 ? distributeIds : [input.lockStepId],
        reason: `smoke is set for account ${target.account}: the copy is tested there, with the image's ${image.smoke.checks.length} check${image.smoke.checks.length === 1 ? '' : 's'}, before that account's parameters name it, ${
          everyRegion && smokedRegions.length > 1
            ? `in ${smokedRegions.join(', ')} at once (smoke.regions is "all"; the subnet and groups given are ${region}'s, elsewhere the region's default VPC)`
            : `in ${region}${target.regions.length > 1 ? ` only (smoke.regions: "all" launches the copies in ${target.regions.filter((other) => other !== region).join(', ')} too)` : ''}`
        }`,
        precondition: 'the copy still exists',
      });
    }
    const ordered = [...writes.filter((write) => write.pointer === 'version'), ...writes.filter((write) => write.pointer !== 'version')];
    steps.push({
      id: `account-publish:${image.name}:${target.account}`,
      kind: 'account-publish',
      image: image.name,
      version,
      account: target.account,
      roleArn: target.roleArn,
      copies,
      writes: ordered,
      after: smoke ? [smokeId] : distributeIds.length > 0 ? distributeIds : [input.lockStepId],
      reason: `account ${target.account} resolves ${image.name} from its own parameters, as the building account does: write ${[...new Set(ordered.map((write) => write.name.slice(imageParameterPath(inventory.ssmPrefix, image.name).length + 1)))].join(', ')} in ${target.regions.join(', ')}${repointed.length > 0 ? `; ${repointed.join(', ')} named a version revoked in the building account: back to ${version}` : ''}`,
      precondition: 'the copies are available and the parameters there still hold what was observed',
    });
  }
  return steps;
}

/**
 * Copies in the other accounts whose source the building account has deregistered, or deregisters in this run (its
 * `retire` step, phase deregister): they go too, after it. A copy a pointer there still names (other than its own
 * `versions/<v>`) is left for a later run, once that pointer has moved.
 */
/** What every removal of a copy names: the copy, its snapshots, where it is, and whose role removes it. */
function copyRemoval(image: ResolvedImage, version: string, target: { readonly account: string; readonly roleArn: string }, region: string, copy: Pick<ObservedAmi, 'amiId' | 'snapshotIds'>) {
  return { kind: 'retire-copy', image: image.name, version, account: target.account, roleArn: target.roleArn, region, amiId: copy.amiId, snapshotIds: copy.snapshotIds } as const;
}

function planCopyRetirement(input: DistributionInput, moving: ReadonlySet<string>): StepOfKind<'retire-copy'>[] {
  const { image, state, inventory } = input;
  const steps: StepOfKind<'retire-copy'>[] = [];
  const path = `${imageParameterPath(inventory.ssmPrefix, image.name)}/`;
  for (const target of image.distribution) {
    const observed = inventory.accounts?.[target.roleArn];
    if (observed?.kind !== 'observed') continue;
    for (const [region, held] of Object.entries(observed.regions)) {
      for (const copy of held.amis) {
        const version = copy.tags['gild:version'];
        const sourceAmiId = copy.tags['gild:source-ami'];
        // NOTE: another pipeline's copy (another SSM prefix) has a source this pipeline does not see: never "gone" here.
        if (copy.tags['gild:image'] !== image.name || !version || !sourceAmiId || copy.tags['gild:retain'] || ofAnotherPipeline(copy.tags, inventory.ssmPrefix)) continue;
        const retiring = input.planned.find((step): step is StepOfKind<'retire'> => step.kind === 'retire' && step.phase === 'deregister' && step.amiId === sourceAmiId);
        const sourceGone = !retiring && !(state.amis[region] ?? []).some((ami) => ami.amiId === sourceAmiId) && !state.versions.some((published) => published.version === version);
        const ownParameter = versionParameterName(inventory.ssmPrefix, image.name, version);
        const naming = held.parameters.filter(
          (parameter) => parameter.value === copy.amiId && parameter.name.startsWith(path) && parameter.name !== ownParameter && !moving.has(`${target.account} ${region} ${parameter.name}`),
        );
        if (naming.length > 0) continue;
        if (!retiring && !sourceGone) {
          steps.push(...planCopyPhases(input, target, region, copy, held, ownParameter));
          continue;
        }
        steps.push({
          id: `retire-copy:${image.name}:${target.account}:${version}:${region}`,
          ...copyRemoval(image, version, target, region, copy),
          parameterName: held.parameters.some((parameter) => parameter.name === ownParameter && parameter.value === copy.amiId) ? ownParameter : undefined,
          after: [retiring?.id ?? input.lockStepId],
          reason: `${version} ${retiring ? 'is retired in the building account in this run' : 'was retired in the building account'} (its source ${sourceAmiId} ${retiring ? 'is deregistered' : 'is gone'}): its copy in account ${target.account} goes too`,
          precondition: `${copy.amiId} is still tagged gild:image=${image.name}, no parameter there but ${ownParameter} names it and nothing uses it`,
        });
      }
    }
  }
  return steps;
}

/**
 * The deprecate and disable phases of a copy's source, followed: a phase its source is stamped with (or is planned in
 * this run) and the copy is not, the copy gets, after the source's step. A revoked source's copy is the revoke's to
 * follow first (plan-account-lifecycle.ts); a phase is never planned twice.
 */
function planCopyPhases(
  input: DistributionInput,
  target: { readonly account: string; readonly roleArn: string },
  region: string,
  copy: ObservedAmi,
  held: { readonly parameters: readonly { readonly name: string; readonly value: string }[] },
  ownParameter: string,
): StepOfKind<'retire-copy'>[] {
  const { image, state } = input;
  const version = copy.tags['gild:version']!;
  const sourceAmiId = copy.tags['gild:source-ami']!;
  const source = (state.amis[region] ?? []).find((ami) => ami.amiId === sourceAmiId);
  if (!source || (source.tags['gild:status'] === 'revoked' && copy.tags['gild:status'] !== 'revoked')) return [];
  if (input.planned.some((step) => step.kind === 'account-revoke' && step.amiId === copy.amiId)) return [];
  const plannedPhase = (phase: 'deprecate' | 'disable') => input.planned.find((step): step is StepOfKind<'retire'> => step.kind === 'retire' && step.phase === phase && step.amiId === sourceAmiId);
  const phases = [
    { phase: 'deprecate' as const, source: source.tags['gild:deprecated-at'] !== undefined, copy: copy.tags['gild:deprecated-at'] !== undefined || copy.deprecationTime !== undefined },
    { phase: 'disable' as const, source: source.tags['gild:disabled-at'] !== undefined, copy: copy.tags['gild:disabled-at'] !== undefined || copy.state === 'disabled' },
  ];
  const steps: StepOfKind<'retire-copy'>[] = [];
  for (const { phase, source: stamped, copy: done } of phases) {
    const planned = plannedPhase(phase);
    if (done || (!stamped && !planned)) continue;
    steps.push({
      id: `retire-copy:${image.name}:${target.account}:${version}:${region}:${phase}`,
      ...copyRemoval(image, version, target, region, copy),
      phase,
      parameterName: held.parameters.some((parameter) => parameter.name === ownParameter && parameter.value === copy.amiId) ? ownParameter : undefined,
      after: [planned?.id ?? input.lockStepId, ...steps.map((step) => step.id)],
      reason: `its source ${sourceAmiId} ${planned ? `is ${phase}d in this run` : `was ${phase}d in the building account`} (${version}'s retirement): its copy in account ${target.account} follows, ${phase}d too`,
      precondition: `${copy.amiId} is still tagged gild:image=${image.name}, no parameter there but ${ownParameter} names it and nothing uses it`,
    });
  }
  return steps;
}

/**
 * What a publish of `version` writes in the other account in one region: `versions/<v>`, then `v<major>` when it is
 * the newest of its major there, then `latest` when it is the newest there. A pointer the building account holds
 * (a rollback) is not moved in the other accounts either. What already names the copy is not written again.
 */
function parameterWrites(
  prefix: string,
  image: ResolvedImage,
  state: ImageState,
  version: string,
  region: string,
  parameters: readonly { name: string; value: string }[],
  copyAmiId: string | undefined,
  revoked: ReadonlySet<string>,
): ParameterWrite[] {
  const valueOf = (name: string) => parameters.find((parameter) => parameter.name === name)?.value;
  // A revoked version there is no reason to leave a pointer where it is: the pointer comes back from it.
  const versions = parameters
    .map((parameter) => versionFromParameterName(prefix, image.name, parameter.name))
    .filter((found): found is string => found !== undefined && semver.valid(found) !== null && !revoked.has(found));
  const writes: ParameterWrite[] = [];
  const add = (name: string, pointer: ParameterWrite['pointer']) => {
    const previous = valueOf(name);
    if (copyAmiId !== undefined && previous === copyAmiId) return;
    writes.push({ region, name, pointer, previous });
  };
  add(versionParameterName(prefix, image.name, version), 'version');
  const major = semver.major(version);
  if (!state.holds[`v${major}`] && !versions.some((other) => semver.major(other) === major && semver.gt(other, version))) add(majorParameterName(prefix, image.name, major), 'major');
  if (!state.holds['latest'] && !versions.some((other) => semver.gt(other, version))) add(latestParameterName(prefix, image.name), 'latest');
  return writes;
}

function isRevoked(state: ImageState, version: string): boolean {
  return Object.values(state.amis).some((amis) => amis.some((ami) => ami.tags['gild:version'] === version && ami.tags['gild:status'] === 'revoked'));
}
