/**
 * Publish: write `versions/<v>` in every region, then `latest` in every
 * region, then mark the AMIs published. Either everything is published or
 * nothing is: a failure rolls back what this stage wrote.
 */
import { createTags } from '../adapters/ec2.ts';
import { deleteParameter, getParameter, putImageParameter } from '../adapters/ssm.ts';
import { describeAwsError } from '../errors.ts';
import { latestParameterName, versionParameterName } from '../plan/parameter-names.ts';
import type { Stage } from './stage.ts';

export const publishStage: Stage = {
  name: 'publish',
  title: 'Publish to SSM Parameter Store',
  mutates: true,
  async run(context, run) {
    const { image } = run;
    const version = run.state.version!;
    const amis = run.state.amis!;
    const prefix = context.settings.ssmPrefix;
    const versionName = versionParameterName(prefix, image.name, version);
    const latestName = latestParameterName(prefix, image.name);
    const tags = { 'gild:image': image.name, 'gild:version': version, 'gild:run-id': context.runId };
    const undo: { description: string; action: () => Promise<void> }[] = [];

    try {
      // Nothing is written until every region's previous `latest` is known, so rollback can restore it.
      const previousLatest = Object.fromEntries(
        await Promise.all(image.regions.map(async (region) => [region, (await getParameter(context.clients.ssm(region), latestName))?.value] as const)),
      );
      // NOTE: every write settles before rollback starts, and its undo is registered before it is sent,
      // so a region that answers late cannot be left behind by a rollback.
      const writes = await Promise.allSettled(
        image.regions.map(async (region) => {
          const ssm = context.clients.ssm(region);
          undo.push({ description: `delete ${versionName} in ${region}`, action: () => deleteParameter(ssm, versionName) });
          await putImageParameter(ssm, versionName, amis[region]!, { overwrite: false, tags, description: `${image.name} ${version}: ${image.description}` });
        }),
      );
      const failedWrite = writes.find((write): write is PromiseRejectedResult => write.status === 'rejected');
      if (failedWrite) throw failedWrite.reason;
      // NOTE: latest is written last so that a failed run never points at an untested or half-published AMI.
      for (const region of image.regions) {
        const ssm = context.clients.ssm(region);
        const previous = previousLatest[region];
        await putImageParameter(ssm, latestName, amis[region]!, { overwrite: previous !== undefined, tags, description: `${image.name} latest: ${image.description}` });
        undo.push({
          description: previous ? `restore ${latestName} in ${region} to ${previous}` : `delete ${latestName} in ${region}`,
          action: () => (previous ? putImageParameter(ssm, latestName, previous, { overwrite: true }) : deleteParameter(ssm, latestName)),
        });
      }
    } catch (error) {
      run.logger.warn(`publishing failed (${describeAwsError(error)}); rolling back`);
      for (const step of undo.reverse()) {
        try {
          await step.action();
          run.logger.info(`rolled back: ${step.description}`);
        } catch (rollbackError) {
          run.logger.warn(`rollback failed: ${step.description}: ${describeAwsError(rollbackError)}. Fix it by hand.`);
        }
      }
      return { status: 'failed', reason: `publishing ${image.name} ${version} failed and was rolled back: ${describeAwsError(error)}` };
    }

    run.state.published = true;
    await Promise.all(
      image.regions.map((region) =>
        createTags(context.clients.ec2(region), [amis[region]!, ...(run.state.snapshots?.[region] ?? [])], { 'gild:status': 'published', 'gild:published-at': context.now().toISOString() }).catch((error: unknown) =>
          run.logger.warn(`could not tag ${amis[region]} in ${region} as published: ${describeAwsError(error)}`),
        ),
      ),
    );
    run.state.summary.push(`published ${version}: ${image.regions.map((region) => `${region} ${amis[region]}`).join(', ')}`);
    return { status: 'done' };
  },
};
