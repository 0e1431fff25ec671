/**
 * EBS volume limits per type, checked for launch and AMI block device mappings.
 *
 * NOTE: limits are from the AWS EBS User Guide, "Amazon EBS volume types"
 * (checked 2025): gp3 raised to 64 TiB, 80,000 IOPS and 2,000 MiB/s in
 * September 2025, with at most 500 IOPS per GiB and 0.25 MiB/s per IOPS;
 * io1 up to 64,000 IOPS at 50 per GiB; io2 Block Express up to 256,000 IOPS at
 * 1,000 per GiB and 64 TiB; st1/sc1 from 125 GiB. Packer 1.6.6 still caps gp3
 * throughput at 1,000 (see EMULATOR.md); that is a renderer concern.
 */
import type { BlockDevice } from './schema.ts';

interface VolumeLimits {
  readonly minSizeGiB: number;
  readonly maxSizeGiB: number;
  readonly iops?: { readonly min: number; readonly max: number; readonly perGiB: number; readonly required: boolean };
  readonly throughput?: { readonly min: number; readonly max: number; readonly perIops: number };
}

export const volumeLimits: Readonly<Record<BlockDevice['type'], VolumeLimits>> = {
  gp2: { minSizeGiB: 1, maxSizeGiB: 16_384 },
  gp3: { minSizeGiB: 1, maxSizeGiB: 65_536, iops: { min: 3000, max: 80_000, perGiB: 500, required: false }, throughput: { min: 125, max: 2000, perIops: 0.25 } },
  io1: { minSizeGiB: 4, maxSizeGiB: 16_384, iops: { min: 100, max: 64_000, perGiB: 50, required: true } },
  io2: { minSizeGiB: 4, maxSizeGiB: 65_536, iops: { min: 100, max: 256_000, perGiB: 1000, required: true } },
  st1: { minSizeGiB: 125, maxSizeGiB: 16_384 },
  sc1: { minSizeGiB: 125, maxSizeGiB: 16_384 },
  standard: { minSizeGiB: 1, maxSizeGiB: 1024 },
};

const number = (value: number) => value.toLocaleString('en-US');

/** Problems with one mapping; `where` is `images/web.ts: blockDevices.launch[0]`. */
export function checkBlockDevice(device: Readonly<BlockDevice>, where: string): string[] {
  const problems: string[] = [];
  const limits = volumeLimits[device.type];
  const size = device.sizeGiB;
  if (size !== undefined && (size < limits.minSizeGiB || size > limits.maxSizeGiB)) {
    problems.push(
      `${where}.sizeGiB: ${size} is outside what ${device.type} allows (${number(limits.minSizeGiB)}–${number(limits.maxSizeGiB)} GiB). Choose a size in that range or another volume type.`,
    );
  }
  if (device.iops !== undefined) {
    if (!limits.iops) {
      problems.push(`${where}.iops: ${device.iops} cannot be set on ${device.type} volumes, whose IOPS are fixed by size. Remove iops, or use gp3, io1 or io2.`);
    } else {
      const { min, max, perGiB } = limits.iops;
      if (device.iops < min || device.iops > max) problems.push(`${where}.iops: ${device.iops} is outside what ${device.type} allows (${number(min)}–${number(max)}). Choose a value in that range.`);
      else if (size !== undefined && device.iops > size * perGiB) {
        problems.push(
          `${where}.iops: ${device.iops} is more than ${device.type} allows for ${size} GiB (${perGiB} IOPS per GiB, so at most ${number(size * perGiB)}). Lower iops or raise sizeGiB to at least ${Math.ceil(device.iops / perGiB)}.`,
        );
      }
    }
  } else if (limits.iops?.required) {
    problems.push(`${where}.iops: is required for ${device.type} volumes. Give the provisioned IOPS (${number(limits.iops.min)}–${number(limits.iops.max)}).`);
  }
  if (device.throughput !== undefined) {
    if (!limits.throughput) {
      problems.push(`${where}.throughput: ${device.throughput} can only be set on gp3 volumes. Remove throughput, or use type "gp3".`);
    } else {
      const { min, max, perIops } = limits.throughput;
      const iops = device.iops ?? limits.iops?.min ?? 0;
      if (device.throughput < min || device.throughput > max)
        problems.push(`${where}.throughput: ${device.throughput} MiB/s is outside what gp3 allows (${min}–${number(max)}). Choose a value in that range.`);
      else if (device.throughput > iops * perIops) {
        problems.push(
          `${where}.throughput: ${device.throughput} MiB/s is more than gp3 allows for ${number(iops)} IOPS (${perIops} MiB/s per IOPS, so at most ${number(iops * perIops)}). Raise iops to at least ${number(Math.ceil(device.throughput / perIops))} or lower throughput.`,
        );
      }
    }
  }
  if (device.encrypted === false && device.kmsKeyId !== undefined) {
    problems.push(`${where}.kmsKeyId: is set on a volume with encrypted: false. Set encrypted: true, or remove kmsKeyId.`);
  }
  if (device.snapshotId !== undefined && !/^snap-[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(device.snapshotId)) {
    problems.push(`${where}.snapshotId: ${JSON.stringify(device.snapshotId)} is not a snapshot ID. Use one such as "snap-0123456789abcdef0".`);
  }
  return problems;
}

/** Duplicate device names within one list, each named once. */
export function checkDeviceNames(devices: readonly Readonly<BlockDevice>[], where: string): string[] {
  const firstIndex = new Map<string, number>();
  const problems: string[] = [];
  devices.forEach((device, index) => {
    const first = firstIndex.get(device.deviceName);
    if (first === undefined) firstIndex.set(device.deviceName, index);
    else problems.push(`${where}[${index}].deviceName: "${device.deviceName}" is already mapped by ${where.split(': ').at(-1)}[${first}]. Each device name can be mapped once; merge or rename them.`);
  });
  return problems;
}
