/**
 * Revoke: mark one region's AMI of a pulled version. The tags are the record
 * (they say why and when, and base resolution and retirement read them);
 * deprecation hides it from casual lists now. Runs after every pointer that
 * named it has moved away, so nothing follows a deprecated AMI.
 */
import { createTags, disableImage, enableImageDeprecation } from '../adapters/ec2.ts';
import type { StepStage } from '../apply/step-stage.ts';
import { targetCapabilities } from '../target/capabilities.ts';

export const revokeStage: StepStage<'revoke'> = {
  kind: 'revoke',
  title: (step) => `revoke ${step.image} ${step.version} in ${step.region}`,
  mutates: true,
  heavy: false,
  check: async () => false,
  async run(context, step, run) {
    const ec2 = context.clients.ec2(step.region);
    const now = context.now();
    await createTags(ec2, [step.amiId], { 'gild:status': 'revoked', 'gild:revoked-reason': step.revokedReason, 'gild:revoked-at': now.toISOString() });
    if (targetCapabilities(context).imageDeprecation) {
      await enableImageDeprecation(ec2, step.amiId, now);
      if (step.disable) await disableImage(ec2, step.amiId);
    } else {
      run.logger.warn(`the emulator has no EnableImageDeprecation${step.disable ? ' or DisableImage' : ''}: ${step.amiId} in ${step.region} is only tagged revoked`);
    }
    run.summary.push(`revoked ${step.version} in ${step.region} (${step.amiId})`);
    return { amiId: step.amiId };
  },
};
