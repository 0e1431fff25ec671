/**
 * Intents a command recorded before it moved pointers, whose moves did not all happen (gild was killed, a region
 * failed): a revoke (recorded in the ledger and on the AMIs), a restore (recorded in the ledger) and a rollback (its hold). Every command that plans
 * pointer moves plans these first, so whatever runs next finishes them; nothing reverses them. Pure.
 */
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory } from '../observe/inventory.ts';
import { revocationOf, type ImageState } from './image-state.ts';
import { imageParameterPath } from './parameter-names.ts';
import { goodVersions, planUnfinishedRevocations } from './plan-revocation.ts';
import { planUnfinishedRestores } from './plan-restore.ts';
import type { KeptResource, PlanStep, PointerMove } from './run-plan.ts';

export interface UnfinishedIntents {
  steps: PlanStep[];
  readonly notes: KeptResource[];
  /** What is being finished, in words (`revoke of 1.0.1`, `rollback of latest to 1.0.0`). */
  readonly versions: string[];
}

export function planUnfinishedIntents(input: {
  readonly image: ResolvedImage;
  readonly state: ImageState;
  readonly prefix: string;
  readonly now: Date;
  readonly channels: Readonly<Record<string, { readonly soakDays: number }>>;
  /** Every image's AMIs: a revoke's descendants not yet marked are marked too. */
  readonly inventory?: Inventory | undefined;
}): UnfinishedIntents {
  const { image, state, prefix } = input;
  const revocations = planUnfinishedRevocations(input);
  const restores = planUnfinishedRestores(input);
  // NOTE: a revoke being finished moves its pointers to the newest good version itself; a restore's catch-up of the same pointer gives way.
  const revokedIds = new Set(revocations.steps.map((step) => step.id));
  const steps = [...restores.steps.filter((step) => !revokedIds.has(step.id)), ...revocations.steps];
  const versions = [...restores.versions.map((version) => `restore of ${version}`), ...revocations.versions.map((version) => `revoke of ${version}`)];
  const notes = [...revocations.notes];
  const movedByRevocations = new Set(steps.flatMap((step) => (step.kind === 'repoint' ? [step.pointer] : [])));
  const good = new Set(goodVersions(state, image).map((candidate) => candidate.version));
  for (const [pointer, hold] of Object.entries(state.holds)) {
    if (movedByRevocations.has(pointer)) continue;
    const target = state.versions.find((candidate) => candidate.version === hold.version);
    // A hold on a version that is gone or revoked since holds the pointer where it is; it does not move it anywhere.
    if (!target || !good.has(hold.version) || revocationOf(state, hold.version)) continue;
    const name = `${imageParameterPath(prefix, image.name)}/${pointer}`;
    const moves: PointerMove[] = image.regions.flatMap((region) => {
      const previous = state.pointers[region]?.[name];
      const amiId = target.amis[region]!;
      return previous === amiId ? [] : [{ region, name, amiId, previous }];
    });
    if (moves.length === 0) continue;
    versions.push(`rollback of ${pointer} to ${hold.version}`);
    steps.push({
      id: `repoint:${image.name}:${pointer}`,
      kind: 'repoint',
      image: image.name,
      version: hold.version,
      pointer,
      moves,
      after: [`lock:${image.name}`],
      reason: `finish the rollback that stopped half-way: ${pointer} is held at ${hold.version} (${hold.reason}, by ${hold.by} at ${hold.at}) but names another version in ${moves.map((move) => move.region).join(', ')}`,
      precondition: `${pointer} still holds what was observed in ${moves.map((move) => move.region).join(', ')}`,
    });
  }
  // A channel move (promote, rollback, revoke) goes region by region, the build region first: regions that disagree
  // with the build region are a move that stopped half-way, finished towards the build region's version.
  const path = `${imageParameterPath(prefix, image.name)}/`;
  const moving = new Set(steps.flatMap((step) => (step.kind === 'repoint' ? [step.pointer] : [])));
  for (const [name, buildAmi] of Object.entries(state.pointers[image.buildRegion] ?? {})) {
    const pointer = name.slice(path.length);
    if (!pointer.startsWith('channels/') || moving.has(pointer) || Object.hasOwn(state.holds, pointer)) continue;
    const target = state.versions.find((candidate) => candidate.amis[image.buildRegion] === buildAmi);
    if (!target || !good.has(target.version)) continue;
    const moves: PointerMove[] = image.regions.flatMap((region) => {
      const previous = state.pointers[region]?.[name];
      const amiId = target.amis[region]!;
      return previous === amiId ? [] : [{ region, name, amiId, previous }];
    });
    if (moves.length === 0) continue;
    versions.push(`move of ${pointer} to ${target.version}`);
    steps.push({
      id: `repoint:${image.name}:${pointer}`,
      kind: 'repoint',
      image: image.name,
      version: target.version,
      pointer,
      moves,
      after: [`lock:${image.name}`],
      reason: `finish the move of ${pointer} to ${target.version} that stopped half-way: ${image.buildRegion} (moved first) names ${target.version}, ${moves.map((move) => move.region).join(', ')} not yet`,
      precondition: `${pointer} still holds what was observed in ${moves.map((move) => move.region).join(', ')}`,
    });
  }
  return { steps, notes, versions };
}
