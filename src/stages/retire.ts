/**
 * Retire: keep the newest N versions of the image in each region. Older AMIs
 * that gild made are deregistered, their snapshots deleted and their
 * `versions/<v>` parameters removed. The plan is made again from what AWS
 * holds after publishing, so it acts only on facts.
 */
import { deleteSnapshot, deregisterImage } from '../adapters/ec2.ts';
import { deleteParameter } from '../adapters/ssm.ts';
import { describeAwsError } from '../errors.ts';
import { planRetirementsFor } from '../plan/create-plan.ts';
import { observePublished } from '../plan/observe.ts';
import type { Stage } from './stage.ts';

export const retireStage: Stage = {
  name: 'retire',
  title: 'Retire superseded versions',
  mutates: true,
  async run(context, run) {
    const { image } = run;
    let actions;
    try {
      const published = await observePublished(context, image.name, image.regions);
      actions = await planRetirementsFor(context, image, published.versions, published.latest);
    } catch (error) {
      // The image is already published: failing to plan retirement must not report it as failed.
      run.logger.warn(`could not plan retirement (${describeAwsError(error)}); old versions stay until the next run`);
      run.state.summary.push('retirement skipped: see the log');
      return { status: 'done' };
    }
    const failures: string[] = [];
    for (const action of actions) {
      if (action.action === 'keep') {
        run.logger.info(`keeping ${action.version} in ${action.region} (${action.amiId}): ${action.reason}`);
        continue;
      }
      run.logger.info(`retiring ${action.version} in ${action.region} (${action.amiId}): ${action.reason}`);
      try {
        // NOTE: the parameter goes first: a versions/<v> that points at a deregistered AMI would break consumers.
        await deleteParameter(context.clients.ssm(action.region), action.parameterName);
        await deregisterImage(context.clients.ec2(action.region), action.amiId);
        for (const snapshotId of action.snapshotIds) await deleteSnapshot(context.clients.ec2(action.region), snapshotId);
        run.state.summary.push(`retired ${action.version} in ${action.region}: deregistered ${action.amiId}${action.snapshotIds.length ? `, deleted ${action.snapshotIds.join(', ')}` : ''}`);
      } catch (error) {
        failures.push(`${action.version} in ${action.region}: ${describeAwsError(error)}`);
      }
    }
    // A retirement that fails does not undo a good publish. If the parameter was already deleted, the next
    // run no longer sees that version: the AMI keeps its gild tags, so it can be found and retired by hand.
    for (const failure of failures) run.logger.warn(`could not retire ${failure}. Find what is left with the tag gild:image=${image.name} and retire it by hand.`);
    return { status: 'done' };
  },
};
