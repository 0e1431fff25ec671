/**
 * The one read `gild unlock` plans from: the image's lock parameter in its build region, as a lease state (whether
 * its owner still runs is asked here, where the process table is, so that planning stays pure).
 */
import { getParameter } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { lockParameterName } from '../plan/parameter-names.ts';
import type { LeaseState } from './inventory.ts';
import { observeLeaseState } from './parse-lease.ts';

export interface ObservedLock {
  readonly parameterName: string;
  readonly lease: LeaseState;
  readonly observedAt: string;
}

export async function observeLock(context: Context, image: Pick<ResolvedImage, 'name' | 'buildRegion'>): Promise<ObservedLock> {
  const parameterName = lockParameterName(context.settings.ssmPrefix, image.name);
  const observedAt = context.now().toISOString();
  const current = await getParameter(context.clients.ssm(image.buildRegion), parameterName);
  return { parameterName, lease: observeLeaseState(current?.value, context.processInfo), observedAt };
}
