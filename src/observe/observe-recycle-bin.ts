/**
 * The Recycle Bin retention rules of a region (for AMIs and for snapshots), read with the inventory where the target
 * has a Recycle Bin: retirement's plan says from them whether what it deregisters can still be brought back, and
 * `gild status` whether the account keeps deregistered AMIs at all. A refusal to read them is said, never thrown: they
 * inform a plan, and no step depends on them.
 */
import { readRetentionRules } from '../adapters/rbin.ts';
import type { Context } from '../context.ts';
import type { RecycleBinSight } from '../plan/recycle-bin.ts';

/** Undefined where the target has no Recycle Bin (the emulator): nothing is asked, and nothing is claimed. */
export async function observeRecycleBin(context: Pick<Context, 'target' | 'clients'>, region: string): Promise<RecycleBinSight | undefined> {
  if (!context.target.recycleBin) return undefined;
  const rbin = context.clients.rbin?.(region);
  if (!rbin) return { unknown: 'no Recycle Bin client was made for this run' };
  try {
    return { rules: await readRetentionRules(rbin) };
  } catch (error) {
    return { unknown: `the retention rules could not be read in ${region} (${error instanceof Error ? error.message : String(error)})` };
  }
}
