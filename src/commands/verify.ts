/**
 * `gild verify`: a drift audit that changes nothing. `--repair` prints the
 * repairs as a plan first, then applies them, each re-checking what it
 * changes (a pointer is moved only while it still names what was observed),
 * and audits again to show what is left.
 */
import { describeCreateVolumePermissions, describeImagesById, describeImagesRaw, describeLaunchPermissions, modifyCreateVolumePermissions, modifyLaunchPermissions } from '../adapters/ec2.ts';
import { putParameterExpecting } from '../adapters/ssm.ts';
import type { Context } from '../context.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import { observeInventory } from '../observe/observe-inventory.ts';
import { imageState } from '../plan/image-state.ts';
import { auditImages, formatAudit, formatRepairPlan, type AuditResult, type ObservedSharing, type RepairStep } from '../report/audit-images.ts';

export interface VerifyOptions {
  readonly json: boolean;
  readonly repair: boolean;
}

export interface VerifyIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export async function verifyCommand(context: Context, images: readonly ResolvedImage[], options: VerifyOptions, io: VerifyIo): Promise<number> {
  // With --json, stdout carries only the last audit.
  const say = options.json ? io.stderr : io.stdout;
  let audit = await auditNow(context, images);
  say(formatAudit(audit));
  if (options.repair) {
    const steps = audit.findings.flatMap((finding) => (finding.repair ? [finding.repair] : []));
    if (steps.length > 0) {
      say(`\n${formatRepairPlan(steps)}`);
      for (const step of steps) say(`  ${await applyRepair(context, step)}\n`);
      audit = await auditNow(context, images);
      say(`\nAfter repair: ${formatAudit(audit)}`);
    } else if (audit.findings.length > 0) {
      say('\nNothing here can be repaired by gild verify; each finding names its repair.\n');
    }
  }
  if (options.json) io.stdout(`${JSON.stringify(audit, null, 2)}\n`);
  return audit.findings.length > 0 ? 1 : 0;
}

async function auditNow(context: Context, images: readonly ResolvedImage[]): Promise<AuditResult> {
  const inventory = await observeInventory(context, images, { baseOverrides: context.options.baseOverrides });
  const regions = [...new Set(images.flatMap((image) => image.regions))];
  const sharing: Record<string, ObservedSharing> = {};
  await Promise.all(
    regions.map(async (region) => {
      const ec2 = context.clients.ec2(region);
      const gildAmis = new Map((inventory.regions[region]?.amis ?? []).map((ami) => [ami.amiId, ami]));
      const named = new Set<string>();
      const own = new Set<string>();
      for (const image of images) {
        if (!image.regions.includes(region)) continue;
        const state = imageState(inventory, image.name, [region]);
        const values = [...(state.namedAmis[region] ?? [])];
        for (const amiId of values) {
          named.add(amiId);
          if (gildAmis.get(amiId)?.tags['gild:image'] === image.name) own.add(amiId);
        }
      }
      const unknown = [...named].filter((amiId) => !gildAmis.has(amiId));
      const others = await describeImagesById(ec2, unknown);
      const launch: Record<string, Awaited<ReturnType<typeof describeLaunchPermissions>>> = {};
      const volumes: Record<string, Awaited<ReturnType<typeof describeCreateVolumePermissions>>> = {};
      await Promise.all(
        [...own].map(async (amiId) => {
          launch[amiId] = await describeLaunchPermissions(ec2, amiId);
          for (const snapshotId of gildAmis.get(amiId)?.snapshotIds ?? []) volumes[snapshotId] = await describeCreateVolumePermissions(ec2, snapshotId);
        }),
      );
      const volumeEncryption = Object.fromEntries(
        (await describeImagesRaw(ec2, [...own])).map((ami) => [
          ami.ImageId!,
          (ami.BlockDeviceMappings ?? []).flatMap((mapping) =>
            mapping.Ebs ? [{ device: mapping.DeviceName ?? '?', snapshotId: mapping.Ebs.SnapshotId, encrypted: mapping.Ebs.Encrypted === true, kmsKeyId: mapping.Ebs.KmsKeyId }] : [],
          ),
        ]),
      );
      sharing[region] = { launch, volumes, otherAmis: Object.fromEntries(others.map((ami) => [ami.amiId, { state: ami.state }])), volumeEncryption };
    }),
  );
  return auditImages({ inventory, images, sharing });
}

async function applyRepair(context: Context, step: RepairStep): Promise<string> {
  switch (step.kind) {
    case 'put-parameter': {
      const written = await putParameterExpecting(context.clients.ssm(step.region), step.name, step.value, { expected: step.expected, dataType: 'aws:ec2:image' });
      return written === 'written' ? `✔ ${step.region} ${step.name} = ${step.value}` : `# ${step.region} ${step.name} left alone: it now names ${written.moved ?? 'nothing'}, not ${step.expected ?? 'nothing'} as observed`;
    }
    case 'launch-permissions':
      await modifyLaunchPermissions(context.clients.ec2(step.region), step.amiId, step);
      return `✔ ${step.region} ${step.amiId} launch permissions as defined`;
    case 'volume-permissions':
      await modifyCreateVolumePermissions(context.clients.ec2(step.region), step.snapshotId, step);
      return `✔ ${step.region} ${step.snapshotId} create-volume permissions as defined`;
  }
}

import { createIoLogger, type Io } from './io.ts';
import { withImagesInContext } from './run-steps.ts';
/** `gild verify` from the command line: the project, the context, then verifyCommand. */
export async function verify(options: VerifyOptions & { readonly images: readonly string[] }, io: Io): Promise<number> {
  return withImagesInContext(io, createIoLogger(io), { images: options.images, dryRun: !options.repair }, (context, images) => verifyCommand(context, images, options, io));
}
