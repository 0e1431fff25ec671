/**
 * Version: take the image's publish lock, then confirm that the version
 * planned before the build is still the next one. Two runs publishing the
 * same image at once would otherwise race for the same version.
 */
import { createParameterIfAbsent, deleteParameter, getParameter } from '../adapters/ssm.ts';
import { nextVersion } from '../plan/next-version.ts';
import { observePublished } from '../plan/observe.ts';
import { lockParameterName } from '../plan/parameter-names.ts';
import type { Stage } from './stage.ts';

/** A lock older than this was left by a run that died; it is taken over. */
const staleLockMs = 6 * 60 * 60 * 1000;

export const versionStage: Stage = {
  name: 'version',
  title: 'Confirm the version',
  mutates: true,
  async run(context, run) {
    const { image, plan } = run;
    const ssm = context.clients.ssm(image.buildRegion);
    const lockName = lockParameterName(context.settings.ssmPrefix, image.name);
    const lockValue = JSON.stringify({ runId: context.runId, since: context.now().toISOString() });

    let outcome = await createParameterIfAbsent(ssm, lockName, lockValue);
    if (outcome !== 'created') {
      const holder = await getParameter(ssm, lockName);
      const since = Date.parse((JSON.parse(holder?.value ?? '{}') as { since?: string }).since ?? '');
      if (Number.isFinite(since) && context.now().getTime() - since < staleLockMs) {
        return { status: 'failed', reason: `another run holds the publish lock for "${image.name}" (${lockName} = ${holder?.value}). Wait for it to finish; if no run is active, delete that parameter.` };
      }
      run.logger.warn(`taking over a stale publish lock ${lockName} (${holder?.value})`);
      await deleteParameter(ssm, lockName);
      outcome = await createParameterIfAbsent(ssm, lockName, lockValue);
      if (outcome !== 'created') return { status: 'failed', reason: `another run took the publish lock for "${image.name}" first (${lockName}).` };
    }
    // Two runs that both took over a stale lock: only the one whose value stuck goes on.
    if ((await getParameter(ssm, lockName))?.value !== lockValue) return { status: 'failed', reason: `another run took the publish lock for "${image.name}" first (${lockName}).` };
    // Release only a lock that is still ours: a run whose stale lock was taken over must not free the new holder's.
    run.defer(`release the publish lock ${lockName}`, async () => {
      if ((await getParameter(ssm, lockName))?.value === lockValue) await deleteParameter(ssm, lockName);
    });

    const published = await observePublished(context, image.name, image.regions);
    const confirmed = nextVersion(image.version, published.versions.map((entry) => entry.version));
    if (!confirmed.ok) return { status: 'failed', reason: `${image.file}: version: ${confirmed.reason}` };
    if (confirmed.version !== plan.nextVersion) {
      return { status: 'failed', reason: `version ${plan.nextVersion} was planned, but another run published ${published.versions[0]?.version} meanwhile. Run again to build ${confirmed.version}.` };
    }
    run.state.version = confirmed.version;
    return { status: 'done' };
  },
};
