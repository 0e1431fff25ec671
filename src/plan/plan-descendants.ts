/**
 * Descendants of a revoked version, pure: every published version of any image built on it (an AMI whose
 * `gild:base-ami` names one of the revoked version's AMIs), and the versions built on those in turn. A revoke marks
 * each of their AMIs `gild:base-revoked` (one `mark-descendant` step per AMI, under the revoked image's lock, after the
 * revoke is recorded), so that `status`, `history` and anyone reading the AMI's tags see that an app team's image
 * stands on a pulled base; `revoke --cascade` revokes them too (src/plan/plan-pointer-change.ts).
 *
 * NOTE: found from the AMIs' tags alone, not from the definitions: an image no longer defined in the project, or built
 * by another checkout of it, is still a descendant, and is still marked.
 */
import semver from 'semver';
import type { Inventory, ObservedAmi } from '../observe/inventory.ts';
import type { PlanStep, StepOfKind } from './run-plan.ts';
import { ofAnotherPipeline } from './prefix-tag.ts';

export interface DescendantVersion {
  readonly image: string;
  readonly version: string;
  /** region → the version's AMI there. */
  readonly amis: Readonly<Record<string, string>>;
  /** The line of descent from the revoked version: `api 1.0.1`, or `api 1.0.1 → app 1.0.1` for one built on a child. */
  readonly via: string;
  /** region → the `gild:base-revoked` tag its AMI already carries (a revoke that marked it, or stopped half-way). */
  readonly marked: Readonly<Record<string, string>>;
}

/** EC2 tag values hold at most 256 characters. */
const tagLimit = 256;

/** What `gild:base-revoked` says on a descendant's AMI. */
export const baseRevokedTag = (via: string, reason: string) => `${via}: ${reason}`.slice(0, tagLimit);

/** A published version's AMI (not a failed build, not one retirement took over). */
const isPublishedAmi = (ami: ObservedAmi) => ami.state !== 'deregistered' && ['published', 'revoked'].includes(ami.tags['gild:status'] ?? '');

export function descendantsOf(inventory: Inventory, image: string, version: string): DescendantVersion[] {
  // NOTE: another gild pipeline's AMIs (another SSM prefix) are neither this one's versions nor its to mark or revoke:
  // the same image name and number may name both pipelines' AMIs.
  const all = Object.entries(inventory.regions).flatMap(([region, regionInventory]) =>
    (regionInventory?.amis ?? []).filter((ami) => !ofAnotherPipeline(ami.tags, inventory.ssmPrefix)).map((ami) => ({ region, ami })),
  );
  const key = (name: string | undefined, number: string | undefined) => `${name ?? ''}@${number ?? ''}`;
  const amisOf = (name: string, number: string) => all.filter(({ ami }) => ami.tags['gild:image'] === name && ami.tags['gild:version'] === number && ami.state !== 'deregistered');
  const seen = new Set<string>([key(image, version)]);
  const found: DescendantVersion[] = [];
  let frontier = [{ amiIds: new Set(amisOf(image, version).map(({ ami }) => ami.amiId)), via: `${image} ${version}` }];
  while (frontier.length > 0) {
    const next: typeof frontier = [];
    for (const parent of frontier) {
      const children = new Map<string, { image: string; version: string }>();
      for (const { ami } of all) {
        const base = ami.tags['gild:base-ami'];
        if (base === undefined || !parent.amiIds.has(base) || !isPublishedAmi(ami)) continue;
        const childKey = key(ami.tags['gild:image'], ami.tags['gild:version']);
        if (seen.has(childKey) || !ami.tags['gild:image'] || !ami.tags['gild:version']) continue;
        children.set(childKey, { image: ami.tags['gild:image'], version: ami.tags['gild:version'] });
      }
      for (const [childKey, child] of children) {
        seen.add(childKey);
        const childAmis = amisOf(child.image, child.version).filter(({ ami }) => isPublishedAmi(ami));
        const amis: Record<string, string> = {};
        const marked: Record<string, string> = {};
        for (const { region, ami } of childAmis) {
          amis[region] = ami.amiId;
          const tag = ami.tags['gild:base-revoked'];
          if (tag !== undefined) marked[region] = tag;
        }
        found.push({ image: child.image, version: child.version, amis, via: parent.via, marked });
        next.push({ amiIds: new Set(childAmis.map(({ ami }) => ami.amiId)), via: `${parent.via} → ${child.image} ${child.version}` });
      }
    }
    frontier = next;
  }
  return found.sort((a, b) => a.image.localeCompare(b.image) || (semver.valid(a.version) && semver.valid(b.version) ? semver.compare(a.version, b.version) : a.version.localeCompare(b.version)));
}

/**
 * One `mark-descendant` step per descendant AMI not yet marked, in the revoked image's name (its lock covers them),
 * each after `after` (the revoke's record steps: the intent comes first).
 */
export function planDescendantMarks(input: {
  readonly image: string;
  readonly version: string;
  readonly reason: string;
  readonly descendants: readonly DescendantVersion[];
  readonly after: readonly string[];
  readonly finishing: boolean;
}): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const descendant of input.descendants) {
    for (const [region, amiId] of Object.entries(descendant.amis)) {
      if (descendant.marked[region] !== undefined) continue;
      const tag = baseRevokedTag(descendant.via, input.reason);
      steps.push({
        id: `mark-descendant:${input.image}:${input.version}:${descendant.image}:${descendant.version}:${region}`,
        kind: 'mark-descendant',
        image: input.image,
        version: input.version,
        region,
        amiId,
        descendant: { image: descendant.image, version: descendant.version },
        tag,
        after: [`lock:${input.image}`, ...input.after],
        reason: `${input.finishing ? 'finish the revoke that stopped half-way: ' : ''}${descendant.image} ${descendant.version} is built on the revoked ${descendant.via}: tag ${amiId} gild:base-revoked so that status, history and its consumers see it (it is not revoked itself; \`gild revoke ${descendant.image} ${descendant.version}\` or \`--cascade\` revokes it)`,
        precondition: `${amiId} still exists, tagged gild:image=${descendant.image}, gild:version=${descendant.version}`,
      } satisfies StepOfKind<'mark-descendant'>);
    }
  }
  return steps;
}

/** The versions a `gild:base-revoked` mark names: its line of descent, `api 1.0.1 → app 1.0.1`, before the reason. */
const markedVersions = (mark: string) => {
  const end = mark.indexOf(': ');
  return (end === -1 ? mark : mark.slice(0, end)).split(' → ');
};

/**
 * One `unmark-descendant` step per descendant AMI of a restored version whose `gild:base-revoked` mark names that
 * version, unless the AMI is still built (through `gild:base-ami`, generations up) on another version whose AMI is
 * tagged revoked: that descendant stands on a pulled base still, and keeps its mark. Each after `after` (the restore's
 * ledger record: the intent comes first).
 */
export function planDescendantUnmarks(input: { readonly inventory: Inventory; readonly image: string; readonly version: string; readonly after: readonly string[] }): PlanStep[] {
  const byId = new Map<string, ObservedAmi>();
  for (const regionInventory of Object.values(input.inventory.regions)) for (const ami of regionInventory?.amis ?? []) byId.set(ami.amiId, ami);
  const isRestored = (ami: ObservedAmi) => ami.tags['gild:image'] === input.image && ami.tags['gild:version'] === input.version;
  /** The first other revoked version `amiId` is built on, if any. */
  const otherRevokedBase = (amiId: string): string | undefined => {
    const visited = new Set<string>([amiId]);
    let base = byId.get(amiId)?.tags['gild:base-ami'];
    while (base !== undefined && !visited.has(base)) {
      visited.add(base);
      const parent = byId.get(base);
      if (!parent) return undefined;
      if (!isRestored(parent) && parent.tags['gild:status'] === 'revoked') return `${parent.tags['gild:image'] ?? '?'} ${parent.tags['gild:version'] ?? '?'}`;
      base = parent.tags['gild:base-ami'];
    }
    return undefined;
  };
  const steps: PlanStep[] = [];
  for (const descendant of descendantsOf(input.inventory, input.image, input.version)) {
    for (const [region, amiId] of Object.entries(descendant.amis)) {
      const mark = descendant.marked[region];
      if (mark === undefined || !markedVersions(mark).includes(`${input.image} ${input.version}`)) continue;
      if (otherRevokedBase(amiId) !== undefined) continue;
      steps.push({
        id: `unmark-descendant:${input.image}:${input.version}:${descendant.image}:${descendant.version}:${region}`,
        kind: 'unmark-descendant',
        image: input.image,
        version: input.version,
        region,
        amiId,
        descendant: { image: descendant.image, version: descendant.version },
        tag: mark,
        after: [`lock:${input.image}`, ...input.after],
        reason: `${descendant.image} ${descendant.version} is built on ${descendant.via}, which is restored, and on no other revoked version: delete gild:base-revoked from ${amiId} so that status, history and its consumers no longer call its base revoked`,
        precondition: `${amiId} still exists, tagged gild:image=${descendant.image}, gild:version=${descendant.version}, gild:base-revoked=${mark}`,
      } satisfies StepOfKind<'unmark-descendant'>);
    }
  }
  return steps;
}
