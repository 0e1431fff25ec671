/**
 * Retire copy: a copy in another account follows its source's retirement. Deprecated or disabled when its source is
 * (the retire stage's phase, stamped on the copy), and gone once the building account has deregistered its source: the
 * retire stage's deregister phase, run as the account's role: the same last look against live state there (still gild's,
 * named by no other parameter, used by no instance, launch template or Auto Scaling group), then `versions/<v>`,
 * the copy and its snapshots.
 */
import type { StepStage } from '../apply/step-stage.ts';
import type { Context } from '../context.ts';
import type { StepOfKind } from '../plan/run-plan.ts';
import { accountClientsFor, asAwsClients } from './distribute.ts';
import { deregisterRetired, retireStage, whyRetirementMoved } from './retire.ts';

const inAccount = (context: Context, step: StepOfKind<'retire-copy'>): Context => ({ ...context, clients: asAwsClients(context, accountClientsFor(context, step)) });

const asRetire = (step: StepOfKind<'retire-copy'>): StepOfKind<'retire'> => ({
  id: step.id,
  kind: 'retire',
  image: step.image,
  version: step.version,
  region: step.region,
  amiId: step.amiId,
  phase: step.phase ?? 'deregister',
  snapshotIds: step.snapshotIds,
  parameterName: step.parameterName,
  after: step.after,
  reason: step.reason,
  precondition: step.precondition,
});

export const retireCopyStage: StepStage<'retire-copy'> = {
  kind: 'retire-copy',
  title: (step) => `${step.phase ? `${step.phase} ` : 'retire '}the copy of ${step.image} ${step.version} in account ${step.account} in ${step.region}`,
  async check(context, step, _run) {
    await accountClientsFor(context, step).confirmAccess();
    // NOTE: a copy follows its source's retirement: retention is the building account's, checked where it retires.
    return whyRetirementMoved(inAccount(context, step), asRetire(step));
  },
  async run(context, step, run) {
    if (step.phase) {
      // Deprecate or disable, stamped on the copy as on its source: the retire stage's phase, as the account's role.
      const summary: string[] = [];
      const output = await retireStage.run(inAccount(context, step), asRetire(step), { ...run, summary });
      run.summary.push(...summary.map((line) => `account ${step.account}: ${line}`));
      return output;
    }
    // NOTE: not the retire stage's run: that records the number in the ledger, which is the building account's alone.
    const { removed } = await deregisterRetired(inAccount(context, step), asRetire(step), { ...run, summary: [] }, context.now().toISOString());
    run.summary.push(`retired the copy of ${step.version} in account ${step.account} (${step.region}): deregistered ${removed.join(', ')}`);
    return { removed };
  },
};
