/**
 * Account publish: the same parameters the building account has (`versions/<v>`, `v<major>`, `latest`), written in
 * a distribution account and naming that account's own copies. It is the publish stage, run as the account's role:
 * the same order (versions first, pointers last), the same idempotent writes and the same all-or-nothing undo.
 */
import type { StepStage } from '../apply/step-stage.ts';
import { accountClientsFor, asAwsClients, copiesOf } from './distribute.ts';
import { imageOf } from './build.ts';
import { assertLockStillOurs, writePublishedParameters } from './publish.ts';

export const accountPublishStage: StepStage<'account-publish'> = {
  kind: 'account-publish',
  title: (step) => `publish ${step.image} ${step.version} in account ${step.account}`,
  async run(context, step, run) {
    const amis = copiesOf(step.copies, run);
    const target = accountClientsFor(context, step);
    await target.confirmAccess();
    const summary: string[] = [];
    // NOTE: the lock lives in the building account only; it is checked there, with the building account's clients.
    await assertLockStillOurs(context, step.image, imageOf(run).buildRegion, step.version);
    const published = await writePublishedParameters(
      { ...context, clients: asAwsClients(context, target) },
      { id: step.id, kind: 'publish', image: step.image, version: step.version, amis: { amis }, writes: step.writes, after: step.after, reason: step.reason, precondition: step.precondition },
      { ...run, summary },
    );
    run.summary.push(
      `published ${step.version} in account ${step.account}: ${Object.entries(amis)
        .map(([region, amiId]) => `${region} ${amiId}`)
        .join(', ')}`,
    );
    return { ...published, account: step.account };
  },
};
