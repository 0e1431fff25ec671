/**
 * Revoke, in two phases per region (src/plan/plan-revocation.ts). `record` comes before any pointer moves: the AMI's
 * tags say revoked, why, who, when and in favour of what, and the build region's step writes the revocation in the
 * version ledger first, so that a revoke killed at any instant is seen, and finished, by whatever command comes next.
 * `deprecate` comes after the pointers moved: deprecated now (hidden from casual lists, launches keep working),
 * disabled with `--disable`; stamped in tags either way, so the next plan knows it is done.
 */
import { createTags, disableImage, enableImageDeprecation, tagValue } from '../adapters/ec2.ts';
import type { StepStage } from '../apply/step-stage.ts';
import { recordRevoked } from '../plan/version-ledger.ts';
import { recordInLedger, recordVersionStatus } from './record-version.ts';

/** EC2 tag values hold at most 256 characters; the ledger keeps more of the reason. */

export const revokeStage: StepStage<'revoke'> = {
  kind: 'revoke',
  title: (step) => `${step.phase === 'deprecate' ? 'deprecate the revoked' : 'revoke'} ${step.image} ${step.version} in ${step.region}`,
  check: async () => false,
  async run(context, step, run) {
    const ec2 = context.clients.ec2(step.region);
    const now = context.now().toISOString();
    if (step.phase !== 'deprecate') {
      const revoked = { reason: step.revokedReason, at: now, by: step.by ?? 'unknown', ...(step.replacement ? { replacement: step.replacement } : {}) };
      if (step.ledger && run.image) {
        // Until the tags below say gild:revoked-disable, the ledger is the only place the disable is asked.
        await recordInLedger(context, run.image, (ledger) => recordRevoked(ledger, step.version, { ...revoked, ...(step.disable ? { disable: true } : {}) }));
      }
      // What `resolve` reads in this region (Parameter Store only): from here on it refuses the version.
      await recordVersionStatus(context, step.region, step.image, step.version, (status) => (status.revoked ? status : { ...status, revoked }));
      await createTags(ec2, [step.amiId], {
        'gild:status': 'revoked',
        'gild:revoked-reason': tagValue(step.revokedReason),
        'gild:revoked-at': now,
        'gild:revoked-by': tagValue(step.by ?? 'unknown'),
        ...(step.replacement ? { 'gild:revoked-replacement': step.replacement } : {}),
        ...(step.disable ? { 'gild:revoked-disable': 'true' } : {}),
      });
      run.summary.push(`revoked ${step.version} in ${step.region} (${step.amiId}): recorded`);
      if (step.phase === 'record') return { amiId: step.amiId };
    }
    const deprecation = context.target.imageDeprecation;
    if (deprecation.available) {
      await enableImageDeprecation(ec2, step.amiId, context.now());
      if (step.disable) await disableImage(ec2, step.amiId);
    } else {
      run.logger.warn(`${deprecation.lacking(`EnableImageDeprecation${step.disable ? ' or DisableImage' : ''}`)}: ${step.amiId} in ${step.region} is only tagged revoked`);
    }
    await createTags(ec2, [step.amiId], { 'gild:deprecated-at': now, ...(step.disable ? { 'gild:disabled-at': now } : {}) });
    await recordVersionStatus(context, step.region, step.image, step.version, (status) => (status.deprecationTime ? status : { ...status, deprecationTime: now }));
    run.summary.push(`${step.disable ? 'deprecated and disabled' : 'deprecated'} the revoked ${step.version} in ${step.region} (${step.amiId})`);
    return { amiId: step.amiId };
  },
};
