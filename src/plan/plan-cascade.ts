/**
 * `gild revoke --cascade`, pure: besides the revoked version, revoke every descendant (src/plan/plan-descendants.ts)
 * of an image this project defines, each as its own revoke (its pointers move to its newest good version that is not
 * revoked with it, said per pointer), under its own image's lock, after the base's revoke is recorded. Refused as a
 * whole, with every reason, when any descendant cannot be revoked: one plan, all or nothing.
 */
import { underLock } from './plan-image-lock.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { Inventory } from '../observe/inventory.ts';
import { imageState, revocationOf } from './image-state.ts';
import { lockParameterName } from './parameter-names.ts';
import type { DescendantVersion } from './plan-descendants.ts';
import { chainLedgerWriters, planRevocationSteps } from './plan-revocation.ts';
import type { KeptResource, PlanStep } from './run-plan.ts';

export interface CascadeInput {
  readonly inventory: Inventory;
  readonly prefix: string;
  readonly now: Date;
  readonly channels: Readonly<Record<string, { readonly soakDays: number }>>;
  /** The images of the project (a descendant is revoked only if defined here). */
  readonly images: readonly ResolvedImage[];
  readonly descendants: readonly DescendantVersion[];
  readonly reason: string;
  readonly by: string;
  readonly disable: boolean;
  /** The base's record steps: every descendant's revoke comes after them. */
  readonly after: readonly string[];
}

export function planCascade(input: CascadeInput): { steps: PlanStep[]; notes: KeptResource[]; revoked: string[] } | { refused: string } {
  const problems: string[] = [];
  const steps: PlanStep[] = [];
  const notes: KeptResource[] = [];
  const revoked: string[] = [];
  const byImage = new Map<string, DescendantVersion[]>();
  for (const descendant of input.descendants) byImage.set(descendant.image, [...(byImage.get(descendant.image) ?? []), descendant]);
  for (const [name, descendants] of byImage) {
    const image = input.images.find((candidate) => candidate.name === name);
    if (!image) {
      problems.push(
        `${name} ${descendants.map((descendant) => descendant.version).join(', ')} is built on the revoked ${descendants[0]!.via} but ${name} is not defined in this project, and gild revokes only images it defines (it is marked gild:base-revoked all the same); revoke it where it is defined, or leave out --cascade`,
      );
      continue;
    }
    const lease = input.inventory.leases[name] ?? { kind: 'free' };
    if (lease.kind === 'held' || lease.kind === 'unreadable') {
      problems.push(
        `${name} is locked by ${lease.kind === 'held' ? `run ${lease.lease.runId}` : 'something that is not a gild lease'}; wait for that run, or remove a stale lock with \`gild unlock ${name} --yes\``,
      );
      continue;
    }
    const state = imageState(input.inventory, name, image.regions);
    const versions = descendants.map((descendant) => descendant.version);
    const own: PlanStep[] = [];
    for (const descendant of descendants) {
      // Revoked already (by hand, or an earlier cascade): that revoke is its own, finished by the next command on it.
      if (revocationOf(state, descendant.version)) continue;
      const planned = planRevocationSteps({
        image,
        state,
        prefix: input.prefix,
        now: input.now,
        channels: input.channels,
        version: descendant.version,
        reason: `its base ${descendant.via} was revoked: ${input.reason}`,
        by: input.by,
        disable: input.disable,
        mode: 'command',
        alsoRevoked: versions,
      });
      if ('refused' in planned) {
        problems.push(`${name} ${descendant.version}: ${planned.refused}`);
        continue;
      }
      own.push(...planned.steps.map((step) => ({ ...step, after: [...step.after, ...input.after], reason: `--cascade (built on the revoked ${descendant.via}): ${step.reason}` })));
      notes.push(...planned.notes);
      revoked.push(`${name} ${descendant.version}`);
    }
    if (own.length === 0) continue;
    const lockName = lockParameterName(input.prefix, name);
    // Its versions' revokes each write its one ledger: one after another, so that neither write loses the other.
    steps.push(...underLock(image, lockName, `--cascade revokes ${name} ${versions.join(', ')}: its pointers move only under its lock`, chainLedgerWriters(own)));
  }
  if (problems.length > 0) return { refused: `--cascade: ${problems.join('; ')}` };
  return { steps, notes, revoked };
}
