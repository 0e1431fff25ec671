/**
 * Which of an image's AMIs to retire now, in which phase, and which to keep,
 * each with its reason. Pure: everything AWS holds comes in as data (from the
 * observed inventory), so the same input always gives the same plan.
 *
 * A version is due for retirement when it is not among the newest `keep` good
 * (not revoked) versions, or older than `maxAgeDays`. A due AMI is still kept
 * when anything protects it: a pointer or channel names its version, the
 * version is held or pinned (or tagged `gild:retain`), it is the newest of a
 * major line a `v<major>` pointer serves, it is younger than `minAgeDays`,
 * something uses it, or it is not gild's. Phases run one per AMI per run;
 * each waits for the previous phase's stamp to be older than its grace.
 *
 * NOTE: the deregister phase marks the AMI `retiring`, removes `versions/<v>`,
 * then the AMI and its snapshots (src/stages/retire.ts): a crash in between
 * leaves a gild-tagged AMI whose parameter is gone, which the next plan
 * finishes from the owned AMIs passed in. A parameter naming an AMI that no
 * longer exists (deregistered by hand) is never gild's doing: it is kept and
 * shown, like any AMI gild cannot prove it made.
 */
import semver from 'semver';
import { defaultKeepRevokedDays, type RetentionPolicy } from '../definition/schema.ts';
import type { ObservedAmi, ObservedParameter } from '../observe/inventory.ts';
import { compareNames } from '../compare-names.ts';
import { imageParameterPath, versionParameterName } from './parameter-names.ts';
import type { KeptResource, StepOfKind } from './run-plan.ts';

export type RetirePhase = StepOfKind<'retire'>['phase'];
export type OwnedAmi = Pick<ObservedAmi, 'amiId' | 'state' | 'createdAt' | 'deprecationTime' | 'snapshotIds' | 'tags'>;

export interface RetirementPolicyInput {
  readonly image: string;
  readonly ssmPrefix: string;
  readonly policy: RetentionPolicy;
  /** ISO time the plan is made at. */
  readonly now: string;
  /** version → region → AMI ID, from `versions/<v>`; includes a version this run is about to publish. */
  readonly published: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** region → pointer name relative to `<prefix>/<image>/` (`latest`, `v2`, `channels/stable`, …) → AMI ID, after this run's publish. */
  readonly pointers: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** version → why it is held (a rollback hold). */
  readonly held: Readonly<Record<string, string>>;
  /** version → why it is pinned (`gild pin`). A `gild:retain` tag on any of its AMIs pins it too. */
  readonly pinned: Readonly<Record<string, string>>;
  /** region → AMI ID → the AMIs this account owns tagged `gild:image=<image>`, in any state. */
  readonly ownedAmis: Readonly<Record<string, Readonly<Record<string, OwnedAmi>>>>;
  /** AMI ID → who uses it (from observeReferences). */
  readonly references: Readonly<Record<string, readonly string[]>>;
  /** AMI ID → whom it is shared with, in words: their use of it is invisible to this account. */
  readonly sharedWith?: Readonly<Record<string, readonly string[]>>;
  /** Snapshot ID → the AMIs of this account it backs (the AMI retired among them). */
  readonly snapshotUsers?: Readonly<Record<string, readonly string[]>>;
}

export interface RetirementPolicyPlan {
  readonly steps: StepOfKind<'retire'>[];
  readonly kept: KeptResource[];
}

export const deprecatedAtTag = 'gild:deprecated-at';
export const disabledAtTag = 'gild:disabled-at';
export const retainTag = 'gild:retain';

const dayMs = 24 * 60 * 60 * 1000;
const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
const day = (iso: string) => iso.slice(0, 10);

/** One AMI of one version in one region, as retirement sees it. */
interface Candidate {
  readonly version: string;
  readonly region: string;
  readonly amiId: string;
  readonly owned: OwnedAmi | undefined;
  /** `versions/<v>` in this region still names this AMI. */
  readonly published: boolean;
}

/** When a version came out: its publish stamp, else its build stamp, else the AMI's creation, earliest across regions. */
function versionTimes(input: RetirementPolicyInput): Map<string, number> {
  const times = new Map<string, number>();
  for (const amis of Object.values(input.ownedAmis)) {
    for (const ami of Object.values(amis)) {
      const version = ami.tags['gild:version'];
      if (!version) continue;
      const at = Date.parse(ami.tags['gild:published-at'] ?? ami.tags['gild:built-at'] ?? ami.createdAt);
      if (Number.isNaN(at)) continue;
      times.set(version, Math.min(times.get(version) ?? at, at));
    }
  }
  return times;
}

/**
 * A retirement already under way: the AMI was published (or stamped), but its `versions/<v>` is gone. `retiring` counts
 * on its own: the `published` tag settles off the critical path, so a run killed before it landed leaves an AMI whose
 * only sign of having been published is the mark retirement puts on it before removing its parameter.
 */
function wasPublished(ami: OwnedAmi): boolean {
  return (
    ami.tags['gild:published-at'] !== undefined ||
    ami.tags[deprecatedAtTag] !== undefined ||
    ami.tags[disabledAtTag] !== undefined ||
    ['published', 'revoked', 'retiring'].includes(ami.tags['gild:status'] ?? '')
  );
}

function collectCandidates(input: RetirementPolicyInput): Candidate[] {
  const candidates = new Map<string, Candidate>();
  // Checked here too, whatever the caller passed: only an AMI tagged as this image's is gild's to retire.
  const isThisImages = (ami: OwnedAmi | undefined): ami is OwnedAmi => ami?.tags['gild:image'] === input.image;
  for (const [version, amis] of Object.entries(input.published)) {
    for (const [region, amiId] of Object.entries(amis)) {
      const ami = input.ownedAmis[region]?.[amiId];
      candidates.set(`${region}/${amiId}`, { version, region, amiId, owned: isThisImages(ami) ? ami : undefined, published: true });
    }
  }
  for (const [region, amis] of Object.entries(input.ownedAmis)) {
    for (const ami of Object.values(amis)) {
      const version = ami.tags['gild:version'];
      if (!version || !isThisImages(ami) || candidates.has(`${region}/${ami.amiId}`) || !wasPublished(ami)) continue;
      candidates.set(`${region}/${ami.amiId}`, { version, region, amiId: ami.amiId, owned: ami, published: false });
    }
  }
  return [...candidates.values()];
}

/** Why a version must stay whatever its age or rank, in words; empty when nothing protects it. */
function versionProtections(input: RetirementPolicyInput, candidates: readonly Candidate[], goodVersionsNewestFirst: readonly string[]): Map<string, string[]> {
  const protections = new Map<string, string[]>();
  const add = (version: string, reason: string) => {
    const reasons = protections.get(version) ?? [];
    if (!reasons.includes(reason)) reasons.push(reason);
    protections.set(version, reasons);
  };
  const versionOfAmi = new Map(candidates.map((candidate) => [candidate.amiId, candidate.version]));
  for (const [region, pointers] of Object.entries(input.pointers)) {
    for (const [pointer, amiId] of Object.entries(pointers)) {
      const version = versionOfAmi.get(amiId);
      if (version) add(version, `${pointer} points to it in ${region}`);
      const major = /^v(\d+)$/.exec(pointer)?.[1];
      const newestOfMajor = major === undefined ? undefined : goodVersionsNewestFirst.find((candidate) => semver.major(candidate) === Number(major));
      if (newestOfMajor) add(newestOfMajor, `newest ${major}.x, which the ${pointer} line serves`);
    }
  }
  for (const [version, reason] of Object.entries(input.held)) add(version, `held: ${reason}`);
  for (const [version, reason] of Object.entries(input.pinned)) add(version, `pinned: ${reason}`);
  for (const candidate of candidates) {
    const retain = candidate.owned?.tags[retainTag];
    if (retain !== undefined) add(candidate.version, `tagged ${retainTag}${retain ? `=${retain}` : ''} in ${candidate.region}`);
  }
  return protections;
}

type NextPhase = { readonly due: true; readonly phase: RetirePhase; readonly progress: string } | { readonly due: false; readonly waiting: string };

/**
 * The next phase an AMI is due for. A phase counts as done only with its stamp; a phase without a stamp is planned
 * again (it is idempotent and stamps), so a crash between the effect and its stamp still converges.
 */
function nextPhase(ami: OwnedAmi, policy: RetentionPolicy, now: number): NextPhase {
  const stamps: { readonly phase: 'deprecate' | 'disable'; readonly tag: string; readonly graceDays: number }[] = [];
  if (policy.phases.deprecate) stamps.push({ phase: 'deprecate', tag: deprecatedAtTag, graceDays: policy.phases.deprecate.graceDays });
  if (policy.phases.disable) stamps.push({ phase: 'disable', tag: disabledAtTag, graceDays: policy.phases.disable.graceDays });
  let previous: { readonly phase: string; readonly at: string; readonly graceDays: number } | undefined;
  for (const stamp of [...stamps, undefined]) {
    // AWS's own deprecation time counts as the deprecate stamp once it has passed (a revoke deprecates at once).
    const awsDeprecatedAt = stamp?.phase === 'deprecate' && ami.deprecationTime !== undefined && Date.parse(ami.deprecationTime) <= now ? ami.deprecationTime : undefined;
    const stampedAt = stamp ? (ami.tags[stamp.tag] ?? awsDeprecatedAt) : undefined;
    if (stamp && stampedAt !== undefined && !Number.isNaN(Date.parse(stampedAt))) {
      previous = { phase: stamp.phase === 'deprecate' ? 'deprecated' : 'disabled', at: stampedAt, graceDays: stamp.graceDays };
      continue;
    }
    const phase: RetirePhase = stamp?.phase ?? 'deregister';
    if (!previous) return { due: true, phase, progress: '' };
    const dueAt = Date.parse(previous.at) + previous.graceDays * dayMs;
    if (dueAt > now)
      return { due: false, waiting: `${previous.phase} on ${day(previous.at)}; ${phase} is due after ${day(new Date(dueAt).toISOString())} (${plural(previous.graceDays, 'day')} of grace)` };
    return { due: true, phase, progress: `${previous.phase} on ${day(previous.at)}, ${plural(previous.graceDays, 'day')} of grace over` };
  }
  throw new Error('unreachable: the deregister phase always ends the walk');
}

export function planRetirementPolicy(input: RetirementPolicyInput): RetirementPolicyPlan {
  const now = Date.parse(input.now);
  const { policy } = input;
  const steps: StepOfKind<'retire'>[] = [];
  const kept: KeptResource[] = [];

  const candidates = collectCandidates(input).sort((a, b) => {
    const aValid = semver.valid(a.version) !== null;
    const bValid = semver.valid(b.version) !== null;
    if (aValid !== bValid) return aValid ? -1 : 1;
    return (aValid && bValid ? semver.compare(a.version, b.version) : a.version.localeCompare(b.version)) || compareNames(a.region, b.region) || compareNames(a.amiId, b.amiId);
  });
  const revoked = new Map<string, string>();
  for (const candidate of candidates) {
    if (candidate.owned?.tags['gild:status'] === 'revoked') revoked.set(candidate.version, candidate.owned.tags['gild:revoked-reason'] ?? 'revoked');
  }
  const versionsNewestFirst = [...new Set(candidates.map((candidate) => candidate.version))].filter((version) => semver.valid(version)).sort(semver.rcompare);
  // A version published nowhere any more is being retired: it holds no place in `keep`.
  const goodVersionsNewestFirst = versionsNewestFirst.filter((version) => !revoked.has(version) && version in input.published);
  const retained = new Set(goodVersionsNewestFirst.slice(0, policy.keep));
  const times = versionTimes(input);
  const protections = versionProtections(input, candidates, goodVersionsNewestFirst);

  for (const candidate of candidates) {
    const { version, region, amiId, owned } = candidate;
    const keep = (reason: string) => kept.push({ image: input.image, region, amiId, version, reason });
    if (!semver.valid(version)) {
      keep(`"${version}" is not a semantic version, so retention cannot rank it`);
      continue;
    }
    const publishedAt = times.get(version);
    const ageDays = publishedAt === undefined ? 0 : Math.floor((now - publishedAt) / dayMs);

    // Why the policy wants it gone; empty: the policy keeps it and there is nothing to say.
    const dueReasons: string[] = [];
    // Without its parameter, a copy whose version is still published elsewhere (a publish that stopped part-way) follows
    // its version; one whose version is published nowhere, or that carries a phase stamp, was being retired.
    const retirementBegan = !candidate.published && (!(version in input.published) || owned?.tags[deprecatedAtTag] !== undefined || owned?.tags[disabledAtTag] !== undefined);
    if (retirementBegan) dueReasons.push(`its retirement already began (${versionParameterName(input.ssmPrefix, input.image, version)} is gone in ${region})`);
    if (revoked.has(version)) dueReasons.push(`revoked (${revoked.get(version)})`);
    else if (!retained.has(version) && version in input.published) dueReasons.push(`older than the newest ${plural(policy.keep, 'version')} (retention keeps ${policy.keep})`);
    if (policy.maxAgeDays !== undefined && ageDays > policy.maxAgeDays) dueReasons.push(`${plural(ageDays, 'day')} old, beyond maxAgeDays ${policy.maxAgeDays}`);
    if (dueReasons.length === 0) continue;

    const blockers = [...(protections.get(version) ?? [])];
    if (revoked.has(version)) {
      // A revoked version is kept to be inspected and restored (`gild restore`), whatever `keep` says, then retired.
      const keepDays = policy.keepRevokedDays ?? defaultKeepRevokedDays;
      const revokedAt = Date.parse(owned?.tags['gild:revoked-at'] ?? '');
      const until = (Number.isNaN(revokedAt) ? now : revokedAt) + keepDays * dayMs;
      if (until > now)
        blockers.push(
          `revoked${Number.isNaN(revokedAt) ? '' : ` on ${day(owned!.tags['gild:revoked-at']!)}`}: kept ${owned?.tags['gild:disabled-at'] || owned?.state === 'disabled' ? 'disabled' : 'deprecated'} for inspection and restore until ${day(new Date(until).toISOString())} (retention.keepRevokedDays ${keepDays})`,
        );
    }
    if (!owned) blockers.unshift(`it is not tagged gild:image=${input.image} (or no longer exists), so gild did not make it and will not delete it`);
    if (policy.minAgeDays > 0 && (publishedAt === undefined || ageDays < policy.minAgeDays)) blockers.push(`only ${plural(ageDays, 'day')} old (minAgeDays ${policy.minAgeDays})`);
    // The same AMI ID could sit under two versions (written by hand); a pointer naming it protects it either way.
    for (const [pointerRegion, pointers] of Object.entries(input.pointers)) {
      for (const [pointer, pointed] of Object.entries(pointers)) {
        const reason = `${pointer} points to it in ${pointerRegion}`;
        if (pointed === amiId && !blockers.includes(reason)) blockers.push(reason);
      }
    }
    const users = input.references[amiId] ?? [];
    if (users.length > 0) blockers.push(`in use by ${users.join(', ')}`);
    // NOTE: another account's launches of a shared AMI are invisible here: said always, and held for keepShared days.
    const grantees = input.sharedWith?.[amiId] ?? [];
    const sharedNote = grantees.length > 0 ? `shared with ${grantees.join(', ')}: their use is not visible to this account` : undefined;
    const keepShared = policy.keepShared ?? 0;
    if (sharedNote && keepShared > 0 && (publishedAt === undefined || ageDays < keepShared))
      blockers.push(`${sharedNote}; retention.keepShared holds it ${plural(keepShared, 'day')} (${plural(ageDays, 'day')} old)`);
    if (blockers.length > 0 || !owned) {
      keep(`kept: ${blockers.join('; ')} (due: ${dueReasons.join('; ')})`);
      continue;
    }

    const next = nextPhase(owned, policy, now);
    if (!next.due) {
      keep(`retiring: ${next.waiting} (due: ${dueReasons.join('; ')})`);
      continue;
    }
    // A snapshot that also backs another AMI stays: deleting it would fail (AWS refuses) or take that AMI's volume.
    const sharedSnapshots = owned.snapshotIds.flatMap((snapshotId) => {
      const others = (input.snapshotUsers?.[snapshotId] ?? []).filter((other) => other !== amiId);
      return others.length > 0 ? [`snapshot ${snapshotId} is left: it also backs ${others.join(', ')}`] : [];
    });
    const snapshotIds = owned.snapshotIds.filter((snapshotId) => !(input.snapshotUsers?.[snapshotId] ?? []).some((other) => other !== amiId));
    steps.push(
      retireStep(input, candidate, next.phase, snapshotIds, [
        ...dueReasons,
        ...(next.progress ? [next.progress] : []),
        ...(sharedNote ? [sharedNote] : []),
        ...(next.phase === 'deregister' ? sharedSnapshots : []),
      ]),
    );
  }
  return { steps, kept };
}

function retireStep(input: RetirementPolicyInput, candidate: Candidate, phase: RetirePhase, snapshotIds: readonly string[], reasons: readonly string[]): StepOfKind<'retire'> {
  const { version, region, amiId } = candidate;
  return {
    id: `retire:${input.image}:${version}:${region}:${phase}`,
    after: [],
    kind: 'retire',
    image: input.image,
    version,
    region,
    amiId,
    phase,
    snapshotIds,
    parameterName: candidate.published ? versionParameterName(input.ssmPrefix, input.image, version) : undefined,
    reason: reasons.join('; '),
    precondition: `${amiId} in ${region} is still tagged gild:image=${input.image} (or already gone), no pointer under ${imageParameterPath(input.ssmPrefix, input.image)}/ names it, and nothing uses it`,
  };
}

/** `versions/<v>` parameters of one image in one region → version → AMI ID. */
export function publishedVersionsIn(ssmPrefix: string, image: string, parameters: readonly Pick<ObservedParameter, 'name' | 'value'>[]): Record<string, string> {
  const head = `${imageParameterPath(ssmPrefix, image)}/versions/`;
  return Object.fromEntries(parameters.filter((parameter) => parameter.name.startsWith(head)).map((parameter) => [parameter.name.slice(head.length), parameter.value]));
}

/** Every parameter under `<prefix>/<image>/` but `versions/*` and `lock`: `latest`, `v<major>`, `channels/<name>`, … → AMI ID. */
export function pointersIn(ssmPrefix: string, image: string, parameters: readonly Pick<ObservedParameter, 'name' | 'value'>[]): Record<string, string> {
  const head = `${imageParameterPath(ssmPrefix, image)}/`;
  return Object.fromEntries(
    parameters
      .filter((parameter) => parameter.name.startsWith(head))
      .map((parameter) => [parameter.name.slice(head.length), parameter.value] as const)
      .filter(([relative]) => !relative.startsWith('versions/') && !relative.startsWith('holds/') && !relative.startsWith('status/') && relative !== 'lock' && relative !== 'ledger'),
  );
}
