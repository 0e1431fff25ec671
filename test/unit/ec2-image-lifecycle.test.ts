/**
 * The calls of an AMI's way back and of its protection, which moto does not implement (EMULATOR.md: no image
 * deregistration protection, no Recycle Bin; no EnableImage or DisableImageDeprecation either, as for their opposites):
 * each is built, serialized and signed by gild's own client through the real adapter, taken off the wire right before
 * sending (aws-model-capture.ts), held to AWS's service model by the checker the integration proxies use, and answered
 * with a canned response in EC2's format.
 */
import { describe, expect, it } from 'vitest';
import { createEc2Client } from '../../src/adapters/ec2.ts';
import {
  deleteTagKeys,
  disableDeregistrationProtection,
  disableImageDeprecation,
  enableDeregistrationProtection,
  enableImage,
  imageInBin,
  listBinnedImages,
  listBinnedSnapshotsOf,
  restoreImageFromBin,
  restoreSnapshotFromBin,
} from '../../src/adapters/ec2-image-lifecycle.ts';
import { captureAtTheWire, type CapturedRequest } from '../support/aws-model-capture.ts';

const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
const ec2Xml = (action: string, inner: string) => ({ body: `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>canned</requestId>${inner}</${action}Response>` });
const form = (request: CapturedRequest) => request.params as URLSearchParams;
const amiId = 'ami-0123456789abcdef0';

describe('AWS-only image lifecycle calls, built by gild and held to AWS rules', () => {
  it('listBinnedImages: every page of the Recycle Bin followed, a valid MaxResults, only the AMIs named <image>-<version>-', async () => {
    const ec2 = createEc2Client('us-east-1', undefined, env);
    const item = (id: string, name: string) => `<item><imageId>${id}</imageId><name>${name}</name><recycleBinExitTime>2026-12-14T00:00:00.000Z</recycleBinExitTime></item>`;
    const wire = captureAtTheWire(ec2, (request) =>
      form(request).get('NextToken')
        ? ec2Xml('ListImagesInRecycleBin', `<imageSet>${item('ami-00000000000000002', 'api-1.0.1-20261201T000000Z-abcd')}</imageSet>`)
        : ec2Xml(
            'ListImagesInRecycleBin',
            `<imageSet>${item('ami-00000000000000001', 'api-1.0.10-20261201T000000Z-abcd')}${item('ami-00000000000000003', 'web-1.0.1-x')}</imageSet><nextToken>page-2</nextToken>`,
          ),
    );
    const found = await listBinnedImages(ec2, 'api-1.0.1-');
    expect(wire.violations()).toEqual([]);
    expect(wire.captured.map((request) => [request.action, form(request).get('MaxResults'), form(request).get('NextToken')])).toEqual([
      ['ListImagesInRecycleBin', '1000', null],
      ['ListImagesInRecycleBin', '1000', 'page-2'],
    ]);
    expect(found).toEqual([{ amiId: 'ami-00000000000000002', name: 'api-1.0.1-20261201T000000Z-abcd', leavesBinAt: '2026-12-14T00:00:00.000Z' }]);
  });

  it('deregistration protection on and off: valid requests, and never WithCooldown (retirement would be refused for a day after it removes it)', async () => {
    const ec2 = createEc2Client('us-east-1', undefined, env);
    const wire = captureAtTheWire(ec2, (request) => ec2Xml(request.action, '<return>true</return>'));
    await enableDeregistrationProtection(ec2, amiId);
    await disableDeregistrationProtection(ec2, amiId);
    expect(wire.violations()).toEqual([]);
    expect(wire.captured.map((request) => request.action)).toEqual(['EnableImageDeregistrationProtection', 'DisableImageDeregistrationProtection']);
    expect(form(wire.captured[0]!).get('ImageId')).toBe(amiId);
    expect(form(wire.captured[0]!).has('WithCooldown')).toBe(false);
  });

  it('a restore re-enables, un-deprecates and untags: valid EnableImage, DisableImageDeprecation and DeleteTags (keys only: whatever the values)', async () => {
    const ec2 = createEc2Client('us-east-1', undefined, env);
    const wire = captureAtTheWire(ec2, (request) => ec2Xml(request.action, '<return>true</return>'));
    await enableImage(ec2, amiId);
    await disableImageDeprecation(ec2, amiId);
    await deleteTagKeys(ec2, [amiId], ['gild:revoked-reason', 'gild:deprecated-at']);
    expect(wire.violations()).toEqual([]);
    expect(wire.captured.map((request) => request.action)).toEqual(['EnableImage', 'DisableImageDeprecation', 'DeleteTags']);
    const untag = form(wire.captured[2]!);
    expect([untag.get('ResourceId.1'), untag.get('Tag.1.Key'), untag.get('Tag.2.Key'), untag.has('Tag.1.Value')]).toEqual([amiId, 'gild:revoked-reason', 'gild:deprecated-at', false]);
  });

  it('a restore from the Recycle Bin: its snapshots found by the AMI named in their description, every page read, then snapshots before the AMI', async () => {
    const ec2 = createEc2Client('us-east-1', undefined, env);
    const snapshot = (id: string, description: string) =>
      `<item><snapshotId>${id}</snapshotId><description>${description}</description><recycleBinExitTime>2026-12-20T00:00:00.000Z</recycleBinExitTime></item>`;
    const wire = captureAtTheWire(ec2, (request) => {
      if (request.action === 'ListSnapshotsInRecycleBin')
        return form(request).get('NextToken')
          ? ec2Xml(request.action, `<snapshotSet>${snapshot('snap-00000000000000002', `Copied for DestinationAmi ${amiId} from SourceAmi ami-0fedcba9876543210`)}</snapshotSet>`)
          : ec2Xml(
              request.action,
              `<snapshotSet>${snapshot('snap-00000000000000001', `Created by CreateImage(i-0123456789abcdef0) for ${amiId}`)}${snapshot('snap-00000000000000003', `Created by CreateImage(i-0123456789abcdef0) for ${amiId}1`)}</snapshotSet><nextToken>page-2</nextToken>`,
            );
      if (request.action === 'ListImagesInRecycleBin')
        return ec2Xml(request.action, `<imageSet><item><imageId>${amiId}</imageId><name>api-1.0.1-x</name><recycleBinExitTime>2026-12-20T00:00:00.000Z</recycleBinExitTime></item></imageSet>`);
      return undefined;
    });
    const snapshots = await listBinnedSnapshotsOf(ec2, [amiId]);
    expect(snapshots.map((found) => found.snapshotId)).toEqual(['snap-00000000000000001', 'snap-00000000000000002']);
    expect(await imageInBin(ec2, amiId)).toEqual({ amiId, name: 'api-1.0.1-x', leavesBinAt: '2026-12-20T00:00:00.000Z' });
    for (const found of snapshots) await restoreSnapshotFromBin(ec2, found.snapshotId);
    await restoreImageFromBin(ec2, amiId);
    expect(wire.violations()).toEqual([]);
    expect(
      wire.captured.map((request) => [request.action, form(request).get('MaxResults'), form(request).get('ImageId.1') ?? form(request).get('ImageId') ?? form(request).get('SnapshotId')]),
    ).toEqual([
      ['ListSnapshotsInRecycleBin', '1000', null],
      ['ListSnapshotsInRecycleBin', '1000', null],
      ['ListImagesInRecycleBin', null, amiId],
      ['RestoreSnapshotFromRecycleBin', null, 'snap-00000000000000001'],
      ['RestoreSnapshotFromRecycleBin', null, 'snap-00000000000000002'],
      ['RestoreImageFromRecycleBin', null, amiId],
    ]);
  });
});
