/**
 * Resume: carry on with the AMIs an earlier run built for exactly this
 * version, fingerprint and base, and never published (it crashed or was
 * stopped after the build). They are smoke-tested again and published like a
 * fresh build; the tags keep who built them and record who resumed them.
 */
import { createTags, describeImages } from '../adapters/ec2.ts';
import type { BuiltAmis, StepStage } from '../apply/step-stage.ts';
import { regionalAmis } from './amis-of.ts';

export const resumeStage: StepStage<'resume'> = {
  kind: 'resume',
  title: (step) => `resume ${step.image} ${step.version} from run ${step.fromRunId}`,
  async check(context, step) {
    for (const [region, amiId] of Object.entries(step.amis)) {
      const [ami] = await describeImages(context.clients.ec2(region), { imageIds: [amiId] });
      if (!ami) return `${amiId} in ${region} no longer exists`;
      if (ami.state !== 'available') return `${amiId} in ${region} is ${ami.state}, not available`;
      const status = ami.tags['gild:status'];
      if (status !== 'candidate' && status !== 'tested' && status !== 'untested') return `${amiId} in ${region} is now gild:status=${status ?? '(none)'}`;
    }
    return false;
  },
  async run(context, step, run) {
    await Promise.all(Object.entries(step.amis).map(([region, amiId]) => createTags(context.clients.ec2(region), [amiId], { 'gild:resumed-by': context.runId })));
    run.logger.info(`resuming ${regionalAmis(step.amis)} built by run ${step.fromRunId}`);
    return { amis: step.amis, snapshots: step.snapshots, baseAmiId: step.baseAmiId } satisfies BuiltAmis;
  },
};
