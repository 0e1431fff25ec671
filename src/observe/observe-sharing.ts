/**
 * What `gild verify` reads besides the inventory, once, with the rest of the
 * observation: per region, the launch permissions of every AMI a parameter of
 * an audited image names that is that image's, the create-volume permissions
 * of their snapshots, their volumes' encryption, and which of the other AMIs
 * a parameter names exist. The audit (src/report/audit-images.ts) decides from
 * it; the repairs are planned from the audit and applied by the runner.
 */
import { describeCreateVolumePermissions, describeImages, describeLaunchPermissions } from '../adapters/ec2.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { imageState } from '../plan/image-state.ts';
import { withInventoryIndex } from '../plan/inventory-slices.ts';
import type { ObservedSharing } from '../report/audit-images.ts';
import type { Inventory } from './inventory.ts';

export async function observeSharing(context: Context, inventory: Inventory, images: readonly ResolvedImage[]): Promise<Record<string, ObservedSharing>> {
  const regions = [...new Set(images.flatMap((image) => image.regions))];
  const sharing: Record<string, ObservedSharing> = {};
  await Promise.all(
    regions.map(async (region) => {
      const ec2 = context.clients.ec2(region);
      const gildAmis = new Map((inventory.regions[region]?.amis ?? []).map((ami) => [ami.amiId, ami]));
      const named = new Set<string>();
      const own = new Set<string>();
      // Every image's state reads its slice of the region: indexed once for all of them, as in a plan's assembly.
      withInventoryIndex(inventory, () => {
        for (const image of images) {
          if (!image.regions.includes(region)) continue;
          const state = imageState(inventory, image.name, [region]);
          const values = [...(state.namedAmis[region] ?? [])];
          for (const amiId of values) {
            named.add(amiId);
            if (gildAmis.get(amiId)?.tags['gild:image'] === image.name) own.add(amiId);
          }
        }
      });
      const unknown = new Set([...named].filter((amiId) => !gildAmis.has(amiId)));
      // One read for both: whether the AMIs gild did not make still exist, and the volumes of gild's own.
      const described = await describeImages(ec2, { imageIds: [...unknown, ...own] });
      const others = described.filter((ami) => unknown.has(ami.amiId));
      const launch: Record<string, Awaited<ReturnType<typeof describeLaunchPermissions>>> = {};
      const volumes: Record<string, Awaited<ReturnType<typeof describeCreateVolumePermissions>>> = {};
      await Promise.all(
        [...own].map(async (amiId) => {
          launch[amiId] = await describeLaunchPermissions(ec2, amiId);
          for (const snapshotId of gildAmis.get(amiId)?.snapshotIds ?? []) volumes[snapshotId] = await describeCreateVolumePermissions(ec2, snapshotId);
        }),
      );
      const volumeEncryption = Object.fromEntries(described.filter((ami) => own.has(ami.amiId)).map((ami) => [ami.amiId, ami.volumes]));
      sharing[region] = { launch, volumes, otherAmis: Object.fromEntries(others.map((ami) => [ami.amiId, { state: ami.state }])), volumeEncryption };
    }),
  );
  return sharing;
}
