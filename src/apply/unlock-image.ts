/**
 * `gild unlock <image>`: remove an image's lock by hand. Refused while the
 * lease's owner may still be working (alive on this host, or not yet
 * expired elsewhere) unless forced; always needs `--yes`; removes only the
 * exact lease it read, so a run that takes the lock meanwhile keeps it.
 */
import { getParameter } from '../adapters/ssm.ts';
import { deleteParameterIfValue } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { catalogue } from '../errors.ts';
import { observeLeaseState, staleLeaseReason } from '../observe/parse-lease.ts';
import { lockParameterName } from '../plan/parameter-names.ts';

export async function unlockImage(context: Context, image: ResolvedImage, options: { confirmed: boolean; force: boolean }): Promise<string> {
  const name = lockParameterName(context.settings.ssmPrefix, image.name);
  const ssm = context.clients.ssm(image.buildRegion);
  const current = await getParameter(ssm, name);
  if (!current) return `${image.name} is not locked (${name} does not exist in ${image.buildRegion}).`;
  const state = observeLeaseState(current.value, context.processInfo);
  const holder =
    state.kind === 'held' ? `run ${state.lease.runId} (pid ${state.lease.pid} on ${state.lease.host}, since ${state.lease.takenAt}, expires ${state.lease.expiresAt})` : `"${current.value}"`;
  const stale = state.kind === 'held' ? staleLeaseReason(state, context.now()) : 'it is not a gild lease';
  if (!stale && !options.force) {
    throw catalogue.EUSAGE(`${name} is held by ${holder}, which may still be working. Wait for it; if you know it is gone, run \`gild unlock ${image.name} --yes --force\`.`);
  }
  if (!options.confirmed) throw catalogue.EUSAGE(`${name} is held by ${holder}${stale ? ` (${stale})` : ''}. Run \`gild unlock ${image.name} --yes\` to remove it.`);
  const removed = await deleteParameterIfValue(ssm, name, current.value);
  if (typeof removed === 'object') throw catalogue.EUSAGE(`${name} changed while unlocking: it now holds ${removed.kept}. Nothing was removed; look again.`);
  return `removed ${name} in ${image.buildRegion}, held by ${holder}.`;
}
