/**
 * Protect: deregistration protection on a published AMI (src/plan/plan-protection.ts), then `gild:protected` says what
 * was done: `true`, or `unsupported` where the target has no such call (said in the log). Idempotent: enabling it
 * again is harmless, and the tag is the same.
 */
import { createTags, describeImages } from '../adapters/ec2.ts';
import { enableDeregistrationProtection } from '../adapters/ec2-image-lifecycle.ts';
import { StepFailure, type StepStage } from '../apply/step-stage.ts';
import { protectedTag } from '../plan/plan-protection.ts';

export const protectStage: StepStage<'protect'> = {
  kind: 'protect',
  title: (step) => `protect ${step.image} ${step.version} in ${step.region}`,
  async run(context, step, run) {
    const amiId = 'amis' in step.amis ? step.amis.amis[step.region] : run.output(step.amis.from, 'publish')?.amis[step.region];
    if (!amiId) throw new StepFailure(`${step.id}: the AMI of ${step.version} in ${step.region} is not known (its publish did not run in this process)`);
    const ec2 = context.clients.ec2(step.region);
    const [ami] = await describeImages(ec2, { imageIds: [amiId] });
    const tag = (key: string) => ami?.tags[key];
    if (!ami || tag('gild:image') !== step.image || tag('gild:version') !== step.version)
      throw new StepFailure(`${step.id} refused: ${amiId} in ${step.region} is not ${step.image} ${step.version} any more`);
    if (!context.target.deregistrationProtection) {
      run.logger.warn(`the target has no image deregistration protection: ${amiId} in ${step.region} is not protected (tagged ${protectedTag}=unsupported)`);
      await createTags(ec2, [amiId], { [protectedTag]: 'unsupported' });
      return { amiId, protected: false };
    }
    // NOTE: tagged first: a crash between the two leaves a tag claiming protection the AMI lacks, which retirement's
    // planned removal of protection (harmless on an unprotected AMI) handles; the other order would leave a protected
    // AMI that no plan knows to unprotect, and that retirement could never deregister.
    await createTags(ec2, [amiId], { [protectedTag]: 'true' });
    await enableDeregistrationProtection(ec2, amiId);
    run.summary.push(`protected ${step.version} in ${step.region} (${amiId}) from deregistration`);
    return { amiId, protected: true };
  },
};
