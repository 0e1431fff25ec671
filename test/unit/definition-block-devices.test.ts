import { describe, expect, it } from 'vitest';
import { checkBlockDevice } from '../../src/definition/block-device-rules.ts';
import { blockDeviceSchema } from '../../src/definition/schema.ts';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

const problems = (device: Record<string, unknown>) => checkBlockDevice(blockDeviceSchema.parse({ deviceName: '/dev/xvda', ...device }), 'images/web.ts: blockDevices.launch[0]');

describe('block device mappings', () => {
  it('defaults to a gp3 volume deleted on termination', () => {
    const { images } = validateOne({ blockDevices: { launch: [{ deviceName: '/dev/xvda', sizeGiB: 20 }] } });
    expect(images[0]!.launchBlockDevices).toEqual([{ deviceName: '/dev/xvda', sizeGiB: 20, type: 'gp3', deleteOnTermination: true }]);
  });

  it('accepts gp3 IOPS from 3,000 to 80,000 within 500 per GiB, and throughput up to a quarter of IOPS', () => {
    expect(problems({ type: 'gp3', sizeGiB: 200, iops: 16_000, throughput: 1000 })).toEqual([]);
    expect(problems({ type: 'gp3', sizeGiB: 1000, iops: 80_000, throughput: 2000 })).toEqual([]);
    expect(problems({ type: 'gp3', iops: 2000 })).toEqual(['images/web.ts: blockDevices.launch[0].iops: 2000 is outside what gp3 allows (3,000–80,000). Choose a value in that range.']);
    expect(problems({ type: 'gp3', sizeGiB: 8, iops: 5000 })).toEqual([
      'images/web.ts: blockDevices.launch[0].iops: 5000 is more than gp3 allows for 8 GiB (500 IOPS per GiB, so at most 4,000). Lower iops or raise sizeGiB to at least 10.',
    ]);
  });

  it('rejects gp3 throughput out of range or above a quarter of IOPS', () => {
    expect(problems({ type: 'gp3', throughput: 100 })).toEqual(['images/web.ts: blockDevices.launch[0].throughput: 100 MiB/s is outside what gp3 allows (125–2,000). Choose a value in that range.']);
    expect(problems({ type: 'gp3', throughput: 1000 })).toEqual([
      'images/web.ts: blockDevices.launch[0].throughput: 1000 MiB/s is more than gp3 allows for 3,000 IOPS (0.25 MiB/s per IOPS, so at most 750). Raise iops to at least 4,000 or lower throughput.',
    ]);
  });

  it('checks io1 and io2 IOPS ranges and ratios, and requires IOPS', () => {
    expect(problems({ type: 'io1', sizeGiB: 100, iops: 5000 })).toEqual([]);
    expect(problems({ type: 'io1', sizeGiB: 100, iops: 6000 })).toEqual([
      'images/web.ts: blockDevices.launch[0].iops: 6000 is more than io1 allows for 100 GiB (50 IOPS per GiB, so at most 5,000). Lower iops or raise sizeGiB to at least 120.',
    ]);
    expect(problems({ type: 'io2', sizeGiB: 300, iops: 256_000 })).toEqual([]);
    expect(problems({ type: 'io2', sizeGiB: 300, iops: 300_000 })).toEqual([
      'images/web.ts: blockDevices.launch[0].iops: 300000 is outside what io2 allows (100–256,000). Choose a value in that range.',
    ]);
    expect(problems({ type: 'io2', sizeGiB: 100 })).toEqual(['images/web.ts: blockDevices.launch[0].iops: is required for io2 volumes. Give the provisioned IOPS (100–256,000).']);
  });

  it('rejects IOPS and throughput on volume types that fix them', () => {
    expect(problems({ type: 'gp2', iops: 3000 })).toEqual([
      'images/web.ts: blockDevices.launch[0].iops: 3000 cannot be set on gp2 volumes, whose IOPS are fixed by size. Remove iops, or use gp3, io1 or io2.',
    ]);
    expect(problems({ type: 'io1', sizeGiB: 100, iops: 1000, throughput: 200 })).toEqual([
      'images/web.ts: blockDevices.launch[0].throughput: 200 can only be set on gp3 volumes. Remove throughput, or use type "gp3".',
    ]);
  });

  it('checks sizes per type: st1 and sc1 from 125 GiB, io2 up to 64 TiB, others 16 TiB', () => {
    expect(problems({ type: 'st1', sizeGiB: 100 })).toEqual([
      'images/web.ts: blockDevices.launch[0].sizeGiB: 100 is outside what st1 allows (125–16,384 GiB). Choose a size in that range or another volume type.',
    ]);
    expect(problems({ type: 'io2', sizeGiB: 65_536, iops: 100_000 })).toEqual([]);
    expect(problems({ type: 'gp2', sizeGiB: 20_000 })).toHaveLength(1);
  });

  it('rejects a device name mapped twice', () => {
    const { errors } = validateOne({ blockDevices: { ami: [{ deviceName: '/dev/xvda', sizeGiB: 20 }, { deviceName: '/dev/xvdb' }, { deviceName: '/dev/xvda' }] } });
    expect(errors).toEqual(['images/web.ts: blockDevices.ami[2].deviceName: "/dev/xvda" is already mapped by blockDevices.ami[0]. Each device name can be mapped once; merge or rename them.']);
  });

  it('rejects an unknown volume type', () => {
    const { errors } = validateOne({ blockDevices: { launch: [{ deviceName: '/dev/xvda', type: 'gp4' }] } });
    expect(errors).toEqual(['images/web.ts: blockDevices.launch[0].type: "gp4" is not allowed. Use one of: "gp2", "gp3", "io1", "io2", "st1", "sc1", "standard".']);
  });
});
