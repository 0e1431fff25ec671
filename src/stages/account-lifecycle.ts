/**
 * A copy in another account follows its source's lifecycle: revoked (recorded, then deprecated or disabled), its
 * account's pointers moved off it, restored. Each is the building account's stage (revoke.ts, repoint.ts, restore.ts)
 * run as the account's role, with the same live re-checks; what only the building account holds (the version ledger)
 * is left out, since the building account's own steps record it first.
 */
import { describeImages } from '../adapters/ec2.ts';
import type { StepRun, StepStage } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { accountClientsFor, asAwsClients } from './distribute.ts';
import { repointStage } from './repoint.ts';
import { restoreStage } from './restore.ts';
import { revokeStage } from './revoke.ts';

type AccountStep = StepOfKind<'account-revoke' | 'account-repoint' | 'account-restore'>;

async function inAccount(context: Context, step: AccountStep): Promise<Context> {
  const target = accountClientsFor(context, step);
  // A role that cannot be assumed fails the step with the role and the account named.
  await target.confirmAccess();
  return { ...context, clients: asAwsClients(context, target) };
}

/** The building account's stage's summary lines, said of the account. */
async function saidOfAccount<T>(step: AccountStep, run: StepRun, work: (run: StepRun) => Promise<T>): Promise<T> {
  const summary: string[] = [];
  const output = await work({ ...run, summary });
  run.summary.push(...summary.map((line) => `account ${step.account}: ${line}`));
  return output;
}

const asRevoke = (step: StepOfKind<'account-revoke'>): StepOfKind<'revoke'> => ({
  id: step.id,
  kind: 'revoke',
  image: step.image,
  version: step.version,
  region: step.region,
  amiId: step.amiId,
  revokedReason: step.revokedReason,
  disable: step.disable,
  phase: step.phase,
  by: step.by,
  ...(step.replacement ? { replacement: step.replacement } : {}),
  after: step.after,
  reason: step.reason,
  precondition: step.precondition,
});

export const accountRevokeStage: StepStage<'account-revoke'> = {
  kind: 'account-revoke',
  title: (step) => `${step.phase === 'deprecate' ? 'deprecate the revoked copy' : 'revoke the copy'} of ${step.image} ${step.version} in account ${step.account} in ${step.region}`,
  // Only a copy that is still this image's and version's, there, is tagged or deprecated: a plan may be old.
  async check(context, step) {
    const there = await inAccount(context, step);
    const [copy] = await describeImages(there.clients.ec2(step.region), { imageIds: [step.amiId] });
    if (!copy || copy.state === 'deregistered') return `${step.amiId} in ${step.region} of account ${step.account} is gone`;
    if (copy.tags['gild:image'] !== step.image || copy.tags['gild:version'] !== step.version)
      return `${step.amiId} in ${step.region} of account ${step.account} is no longer tagged ${step.image} ${step.version}`;
    return false;
  },
  async run(context, step, run) {
    const there = await inAccount(context, step);
    return saidOfAccount(step, run, (own) => revokeStage.run(there, asRevoke(step), own));
  },
};

const asRepoint = (step: StepOfKind<'account-repoint'>): StepOfKind<'repoint'> => ({
  id: step.id,
  kind: 'repoint',
  image: step.image,
  version: step.version,
  pointer: step.pointer,
  moves: step.moves,
  after: step.after,
  reason: step.reason,
  precondition: step.precondition,
});

export const accountRepointStage: StepStage<'account-repoint'> = {
  kind: 'account-repoint',
  title: (step) => `move ${step.image} ${step.pointer} in account ${step.account} to ${step.version}`,
  // The copies it moves to are checked as the building account checks its own: this image, this version, not revoked.
  async check(context, step, run) {
    return repointStage.check!(await inAccount(context, step), asRepoint(step), run);
  },
  async run(context, step, run) {
    const there = await inAccount(context, step);
    return saidOfAccount(step, run, (own) => repointStage.run(there, asRepoint(step), own));
  },
};

const asRestore = (step: StepOfKind<'account-restore'>): StepOfKind<'restore'> => ({
  id: step.id,
  kind: 'restore',
  image: step.image,
  version: step.version,
  region: step.region,
  amiId: step.amiId,
  restoredReason: step.restoredReason,
  by: step.by,
  revoked: step.revoked,
  after: step.after,
  reason: step.reason,
  precondition: step.precondition,
});

export const accountRestoreStage: StepStage<'account-restore'> = {
  kind: 'account-restore',
  title: (step) => `restore the copy of ${step.image} ${step.version} in account ${step.account} in ${step.region}`,
  async check(context, step, run) {
    return restoreStage.check!(await inAccount(context, step), asRestore(step), run);
  },
  async run(context, step, run) {
    const there = await inAccount(context, step);
    return saidOfAccount(step, run, (own) => restoreStage.run(there, asRestore(step), own));
  },
};
