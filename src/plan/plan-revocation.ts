/**
 * The steps of a revoke, pure: intent first, then pointers, then deprecation.
 *
 * 1. `revoke … record` in every region: the AMI is tagged revoked (reason, who, when, replacement), and the build
 *    region's step records the revocation in the version ledger. From here on every reader (base resolution,
 *    retirement, `resolve`, the next run's plan) treats the version as revoked.
 * 2. `repoint` every pointer naming it to its replacement: `latest` to the newest good version, `v<major>` to the
 *    newest good one of its major, a channel to the newest good one that has soaked as long as the channel asks
 *    (none: the channel is left where it is, said in the plan with the promote command to run).
 * 3. `revoke … deprecate` in every region, once no pointer names it: deprecated now, disabled with `--disable`.
 * 4. The copies in other accounts follow, after step 1, the same way (src/plan/plan-account-lifecycle.ts).
 *
 * The same function finishes a revoke that stopped half-way (`mode: 'finish'`): whatever command comes next plans the
 * record, moves and deprecation still missing, from the record the revoke left. Nothing ever moves a pointer back.
 */
import semver from 'semver';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { describeHold, revocationOf, type ImageState } from './image-state.ts';
import { imageParameterPath } from './parameter-names.ts';
import type { KeptResource, PlanStep, PointerMove, StepOfKind } from './run-plan.ts';
import { activeRevocation } from './version-ledger.ts';
import type { Inventory } from '../observe/inventory.ts';
import { descendantsOf, planDescendantMarks, type DescendantVersion } from './plan-descendants.ts';
import { planAccountRevocation } from './plan-account-lifecycle.ts';

const dayMs = 86_400_000;

export interface RevocationPlanInput {
  readonly image: ResolvedImage;
  readonly state: ImageState;
  readonly prefix: string;
  readonly now: Date;
  /** Declared channels and their soak. */
  readonly channels: Readonly<Record<string, { readonly soakDays: number }>>;
  readonly version: string;
  readonly reason: string;
  readonly by: string;
  readonly disable: boolean;
  /** `command`: `gild revoke` (a pointer with nowhere to go refuses the whole revoke); `finish`: any later command completing it. */
  readonly mode: 'command' | 'finish';
  /**
   * Every image's AMIs, to find the descendants (versions built on this one) and mark them `gild:base-revoked`
   * (src/plan/plan-descendants.ts). Left out, no descendant is looked for.
   */
  readonly inventory?: Inventory | undefined;
  /** Other versions of this image revoked by the same plan (`revoke --cascade`): no pointer moves to them either. */
  readonly alsoRevoked?: readonly string[] | undefined;
}

export type RevocationPlan =
  { readonly steps: PlanStep[]; readonly notes: KeptResource[]; readonly replacement: string | undefined; readonly descendants: readonly DescendantVersion[] } | { readonly refused: string };

/** The AMI of a version in a region, if it is this image's own (tagged with this image and version) and launchable. */
export function ownAmi(state: ImageState, region: string, amiId: string | undefined, version: string) {
  if (amiId === undefined) return undefined;
  return state.amis[region]?.find((ami) => ami.amiId === amiId && ami.tags['gild:version'] === version && ami.state === 'available');
}

/** When a version was published (its build region's AMI's stamp), in ms. */
export function publishedTime(state: ImageState, region: string, version: string): number | undefined {
  const ami = state.amis[region]?.find((candidate) => candidate.tags['gild:version'] === version);
  const at = Date.parse(ami?.tags['gild:published-at'] ?? ami?.tags['gild:built-at'] ?? ami?.createdAt ?? '');
  return Number.isNaN(at) ? undefined : at;
}

/** Versions every pointer may name: published in every region as this image's own available AMIs, not revoked. Newest first. */
export function goodVersions(state: ImageState, image: ResolvedImage, except?: string) {
  return state.versions.filter(
    (candidate) =>
      candidate.version !== except &&
      revocationOf(state, candidate.version) === undefined &&
      image.regions.every((region) => ownAmi(state, region, candidate.amis[region], candidate.version) !== undefined),
  );
}

/** The AMIs of a version, per region: its `versions/<v>`, else any of its AMIs still there. */
function amisOfVersion(state: ImageState, image: ResolvedImage, version: string): Record<string, string> {
  const amis: Record<string, string> = {};
  for (const region of image.regions) {
    const published = state.versions.find((candidate) => candidate.version === version)?.amis[region];
    const tagged = state.amis[region]?.find((ami) => ami.tags['gild:version'] === version && ami.state !== 'deregistered');
    const amiId = published ?? tagged?.amiId;
    if (amiId) amis[region] = amiId;
  }
  return amis;
}

export function planRevocationSteps(input: RevocationPlanInput): RevocationPlan {
  const { image, state, version, mode } = input;
  const amis = amisOfVersion(state, image, version);
  if (Object.keys(amis).length === 0) {
    if (mode === 'finish') return { steps: [], notes: [], replacement: undefined, descendants: [] };
    return { refused: `${image.name} ${version} has no AMI in ${image.regions.join(', ')} (published: ${state.versions.map((candidate) => candidate.version).join(', ') || 'none'})` };
  }
  const path = `${imageParameterPath(input.prefix, image.name)}/`;
  const good = goodVersions(state, image, version).filter((candidate) => !(input.alsoRevoked ?? []).includes(candidate.version));
  const soaked = (soakDays: number) => good.filter((candidate) => (input.now.getTime() - (publishedTime(state, image.buildRegion, candidate.version) ?? input.now.getTime())) / dayMs >= soakDays);
  const moves = new Map<string, { version: string; moves: PointerMove[] }>();
  const problems: string[] = [];
  const notes: KeptResource[] = [];
  const note = (region: string, reason: string) => notes.push({ image: image.name, region, amiId: amis[region]!, version, reason });
  for (const region of image.regions) {
    for (const [name, amiId] of Object.entries(state.pointers[region] ?? {})) {
      if (amiId !== amis[region]) continue;
      const pointer = name.slice(path.length);
      const hold = state.holds[pointer];
      if (hold) {
        if (mode === 'command') problems.push(`${describeHold(pointer, hold)}; release it first`);
        else note(region, `${pointer} still names the revoked ${version}: ${describeHold(pointer, hold)}; \`gild release\` it to let the revoke move it`);
        continue;
      }
      const major = /^v(\d+)$/.exec(pointer)?.[1];
      const channel = pointer.startsWith('channels/') ? pointer.slice('channels/'.length) : undefined;
      if (channel !== undefined) {
        const soakDays = Object.hasOwn(input.channels, channel) ? input.channels[channel]!.soakDays : 0;
        const replacement = soaked(soakDays)[0];
        if (!replacement) {
          const newest = good[0];
          note(
            region,
            `${pointer} still names the revoked ${version}: no good version has soaked the ${soakDays} days ${channel} asks${newest ? ` (${newest.version} was published ${Math.floor((input.now.getTime() - (publishedTime(state, image.buildRegion, newest.version) ?? input.now.getTime())) / dayMs)} days ago); run \`gild promote ${image.name} --to ${channel} --version ${newest.version}\` once it has` : `; publish one, then \`gild promote ${image.name} --to ${channel}\``}`,
          );
          continue;
        }
        addMove(moves, pointer, replacement.version, { region, name, amiId: replacement.amis[region]!, previous: amiId });
        continue;
      }
      const replacement = good.find((candidate) => major === undefined || semver.major(candidate.version) === Number(major));
      if (!replacement) {
        const problem = `${pointer} in ${region} names it and there is no good version${major === undefined ? '' : ` of ${major}.x`} to move it to; publish one first`;
        if (mode === 'command') problems.push(problem);
        else note(region, `${pointer} still names the revoked ${version}: ${problem}`);
        continue;
      }
      addMove(moves, pointer, replacement.version, { region, name, amiId: replacement.amis[region]!, previous: amiId });
    }
  }
  if (problems.length > 0) return { refused: [...new Set(problems)].join('; ') };
  // A pointer that moves, moves in every region: a region where it is missing or names another version (a move that
  // stopped half-way) gets the same version, so that the regions agree afterwards.
  for (const [pointer, entry] of moves) {
    const name = `${path}${pointer}`;
    const target = state.versions.find((candidate) => candidate.version === entry.version)!;
    for (const region of image.regions) {
      if (entry.moves.some((move) => move.region === region)) continue;
      const current = state.pointers[region]?.[name];
      if (current !== target.amis[region]) entry.moves.push({ region, name, amiId: target.amis[region]!, previous: current });
    }
    entry.moves.sort((a, b) => image.regions.indexOf(a.region) - image.regions.indexOf(b.region));
  }

  const replacement = moves.get('latest')?.version ?? good.find((candidate) => semver.major(candidate.version) === semver.major(version))?.version ?? good[0]?.version;
  const lockId = `lock:${image.name}`;
  const recorded = activeRevocation(state.ledger, version) !== undefined;
  const steps: PlanStep[] = [];
  const common = { image: image.name, version, revokedReason: input.reason, disable: input.disable, by: input.by, ...(replacement ? { replacement } : {}) };
  // The regions whose record is still to do: a finished record (tagged, its status written, and the ledger too in the
  // build region) is not done again; retirement having taken the AMI over means the revoke is long finished.
  const toRecord = Object.entries(amis).filter(([region, amiId]) => {
    if (mode !== 'finish') return true;
    const status = state.amis[region]?.find((ami) => ami.amiId === amiId)?.tags['gild:status'];
    if (status === 'retiring') return false;
    const tagged = status === 'revoked' && state.statuses[region]?.[version]?.revoked !== undefined;
    return !tagged || (region === image.buildRegion && !recorded);
  });
  const ledgerStepId = `revoke:${image.name}:${version}:${image.buildRegion}`;
  const ledgerPlanned = toRecord.some(([region]) => region === image.buildRegion);
  for (const [region, amiId] of toRecord) {
    steps.push({
      id: `revoke:${image.name}:${version}:${region}`,
      kind: 'revoke',
      ...common,
      phase: 'record',
      region,
      amiId,
      ...(region === image.buildRegion ? { ledger: true } : {}),
      // Another region is tagged revoked only once the ledger says so (as a restore orders its steps): a second revoke
      // of a restored version killed between the two would otherwise leave revoke tags the ledger contradicts.
      after: region !== image.buildRegion && ledgerPlanned ? [lockId, ledgerStepId] : [lockId],
      reason: `${mode === 'finish' ? 'finish the revoke that stopped half-way: ' : ''}record the revoke before any pointer moves (${input.reason}): tag ${amiId} revoked${region === image.buildRegion ? ' and write it in the version ledger' : ''}${region !== image.buildRegion && ledgerPlanned ? ', once the ledger says so' : ''}; from here on nothing builds on it, resolves it or moves a pointer back to it`,
      precondition: `${amiId} still exists`,
    } satisfies StepOfKind<'revoke'>);
  }
  const recordIds = steps.map((step) => step.id);
  const repoints: PlanStep[] = [...moves.entries()].map(([pointer, entry]) => ({
    id: `repoint:${image.name}:${pointer}`,
    kind: 'repoint' as const,
    image: image.name,
    version: entry.version,
    pointer,
    moves: entry.moves,
    after: [lockId, ...recordIds],
    reason: `${mode === 'finish' ? 'finish the revoke that stopped half-way: ' : ''}it names the revoked ${version}: move it to ${pointer.startsWith('channels/') ? 'the newest good version that has soaked' : 'the newest good version'}${/^v\d+$/.test(pointer) ? ' of its major' : ''}, ${entry.version}`,
    precondition: `${pointer} still names ${version} in ${entry.moves.map((move) => move.region).join(', ')}`,
  }));
  steps.push(...repoints);
  const repointIds = repoints.map((step) => step.id);
  for (const [region, amiId] of Object.entries(amis)) {
    const ami = state.amis[region]?.find((candidate) => candidate.amiId === amiId);
    const deprecated = ami?.tags['gild:deprecated-at'] !== undefined || ami?.deprecationTime !== undefined;
    const disabled = ami?.tags['gild:disabled-at'] !== undefined || ami?.state === 'disabled';
    if (mode === 'finish' && ami && ((deprecated && (!input.disable || disabled)) || ami.tags['gild:status'] === 'retiring')) continue;
    steps.push({
      id: `revoke:${image.name}:${version}:${region}:deprecate`,
      kind: 'revoke',
      ...common,
      phase: 'deprecate',
      region,
      amiId,
      after: [lockId, ...recordIds, ...repointIds],
      reason: `no pointer moved by this plan names it any more: ${input.disable ? 'deprecate and disable' : 'deprecate'} ${amiId} now; it is kept for inspection and restore (retention.keepRevokedDays)`,
      precondition: `${amiId} still exists`,
    } satisfies StepOfKind<'revoke'>);
  }
  if (input.inventory) {
    // Copies in other accounts follow: recorded after the building account's record, their pointers moved by the same rules.
    const accounts = planAccountRevocation({
      image,
      state,
      inventory: input.inventory,
      now: input.now,
      channels: input.channels,
      version,
      reason: input.reason,
      by: input.by,
      disable: input.disable,
      replacement,
      good,
      publishedAt: (candidate) => publishedTime(state, image.buildRegion, candidate),
      after: [lockId, ...recordIds],
      finishing: mode === 'finish',
    });
    steps.push(...accounts.steps);
    notes.push(...accounts.notes);
  }
  const descendants = input.inventory ? descendantsOf(input.inventory, image.name, version) : [];
  steps.push(...planDescendantMarks({ image: image.name, version, reason: input.reason, descendants, after: recordIds, finishing: mode === 'finish' }));
  return { steps, notes, replacement, descendants };
}

function addMove(moves: Map<string, { version: string; moves: PointerMove[] }>, pointer: string, version: string, move: PointerMove): void {
  const entry = moves.get(pointer) ?? { version, moves: [] };
  entry.moves.push(move);
  moves.set(pointer, entry);
}

/**
 * Revokes that stopped half-way: versions recorded as revoked (ledger or tags) with a record, a pointer move or a
 * deprecation still missing. Their steps finish them; nothing is reversed.
 */
export function planUnfinishedRevocations(input: Omit<RevocationPlanInput, 'version' | 'reason' | 'by' | 'disable' | 'mode'>): { steps: PlanStep[]; notes: KeptResource[]; versions: string[] } {
  const { state } = input;
  const versions = new Set<string>(Object.keys(state.ledger.revoked));
  for (const amis of Object.values(state.amis)) for (const ami of amis) if (ami.tags['gild:status'] === 'revoked' && ami.tags['gild:version']) versions.add(ami.tags['gild:version']);
  const steps: PlanStep[] = [];
  const notes: KeptResource[] = [];
  const unfinished: string[] = [];
  for (const version of [...versions].filter((candidate) => semver.valid(candidate)).sort(semver.compare)) {
    const revocation = revocationOf(state, version);
    if (!revocation) continue;
    // Asked where the revoke wrote it first (the ledger; the tags of a revoke from before the ledger recorded it), or on any AMI.
    const disable = revocation.disable === true || Object.values(state.amis).some((amis) => amis.some((ami) => ami.tags['gild:version'] === version && ami.tags['gild:revoked-disable'] === 'true'));
    const planned = planRevocationSteps({ ...input, version, reason: revocation.reason, by: revocation.by, disable, mode: 'finish' });
    if ('refused' in planned) continue;
    notes.push(...planned.notes);
    if (planned.steps.length === 0) continue;
    unfinished.push(version);
    steps.push(...planned.steps);
  }
  return { steps: chainLedgerWriters(steps), notes, versions: unfinished };
}

/**
 * The steps with every ledger-writing record step of one image after the one before it: two revokes of one image in one
 * plan (`--cascade` revoking two versions of a descendant, or two unfinished revokes finished together) write the one
 * ledger parameter, and SSM has no conditional write, so they take turns rather than rely on the write's re-check alone.
 */
export function chainLedgerWriters(steps: readonly PlanStep[]): PlanStep[] {
  const previous = new Map<string, string>();
  return steps.map((step) => {
    if (step.kind !== 'revoke' || step.phase !== 'record' || step.ledger !== true) return step;
    const before = previous.get(step.image);
    previous.set(step.image, step.id);
    return before === undefined || step.after.includes(before) ? step : { ...step, after: [...step.after, before] };
  });
}
