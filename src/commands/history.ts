/**
 * `gild history <image> [--json]`: every version ever published, from AWS
 * alone (AMI tags and parameter history), so it works on any machine.
 */
import { getParameterHistory } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { observeInventory } from '../observe/observe-inventory.ts';
import { assembleHistory, formatHistory, type PointerHistory } from '../plan/assemble-history.ts';
import { imageState } from '../plan/image-state.ts';
import { imageParameterPath, latestParameterName } from '../plan/parameter-names.ts';

export async function historyCommand(context: Context, image: ResolvedImage, options: { json: boolean }, io: { stdout: (text: string) => void }): Promise<number> {
  const inventory = await observeInventory(context, [image], { baseOverrides: context.options.baseOverrides });
  const state = imageState(inventory, image.name, image.regions);
  const path = `${imageParameterPath(context.settings.ssmPrefix, image.name)}/`;
  const current: Record<string, Record<string, string>> = {};
  const names: { region: string; name: string }[] = [];
  for (const region of image.regions) {
    const relative: Record<string, string> = {};
    for (const [name, amiId] of Object.entries(state.pointers[region] ?? {})) relative[name.slice(path.length)] = amiId;
    for (const published of state.versions) if (published.amis[region]) relative[`versions/${published.version}`] = published.amis[region]!;
    current[region] = relative;
    // `latest` is read even when it is gone now: its history is the record of every publish.
    for (const name of new Set([latestParameterName(context.settings.ssmPrefix, image.name), ...Object.keys(relative).map((pointer) => `${path}${pointer}`)])) names.push({ region, name });
  }
  const histories: PointerHistory[] = await Promise.all(
    names.map(async ({ region, name }) => ({ region, pointer: name.slice(path.length), entries: await getParameterHistory(context.clients.ssm(region), name) })),
  );
  const versions = assembleHistory({ image: image.name, amis: state.amis, current, histories, revocations: state.ledger.revoked });
  io.stdout(options.json ? `${JSON.stringify({ image: image.name, versions }, null, 2)}\n` : `${formatHistory(image.name, versions)}\n`);
  return 0;
}
