/**
 * gild's CopyImage into another region, held to AWS's model at the wire (moto ignores its encryption and tags, so the
 * integration tests cannot show them): encrypted with the region's key, tagged at creation on the image and its
 * snapshots, one client token per source and region; a lost answer is recognised by reading the copy back by name.
 */
import { describe, expect, it } from 'vitest';
import { createEc2Client } from '../../src/adapters/ec2.ts';
import { regionCopyClientToken, startRegionCopy } from '../../src/adapters/ec2-region-copy.ts';
import { captureAtTheWire, type CapturedRequest } from '../support/aws-model-capture.ts';

const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
const ec2Xml = (action: string, inner: string) => ({ body: `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>canned</requestId>${inner}</${action}Response>` });
const copyItem = `<item><imageId>ami-0bbbbbbbbbbbbbbb2</imageId><name>web-1.4.2-20261207T063000Z-abc123</name><imageState>pending</imageState><creationDate>2026-12-07T06:40:00.000Z</creationDate></item>`;
const request = (ec2: ReturnType<typeof createEc2Client>) => ({
  ec2,
  region: 'eu-west-1',
  sourceRegion: 'us-east-1',
  sourceAmiId: 'ami-0aaaaaaaaaaaaaaa1',
  name: 'web-1.4.2-20261207T063000Z-abc123',
  description: 'web 1.4.2',
  kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  tags: { 'gild:image': 'web', 'gild:version': '1.4.2', 'gild:run-id': '20261207T063000Z-abc123', 'gild:status': 'candidate' },
});

describe('startRegionCopy', () => {
  it('copies encrypted with the region key, tagged at creation, with a deterministic client token', async () => {
    const ec2 = createEc2Client('eu-west-1', undefined, env);
    const wire = captureAtTheWire(ec2, (sent: CapturedRequest) =>
      sent.action === 'CopyImage' ? ec2Xml('CopyImage', '<imageId>ami-0bbbbbbbbbbbbbbb2</imageId>') : ec2Xml('DescribeImages', '<imagesSet/>'),
    );
    expect(await startRegionCopy(request(ec2))).toEqual({ amiId: 'ami-0bbbbbbbbbbbbbbb2', outcome: 'started' });
    const copy = wire.captured.find((sent) => sent.action === 'CopyImage')!.params as URLSearchParams;
    expect(copy.get('Encrypted')).toBe('true');
    expect(copy.get('KmsKeyId')).toMatch(/^arn:aws:kms:eu-west-1:/);
    expect(copy.get('ClientToken')).toBe(regionCopyClientToken('ami-0aaaaaaaaaaaaaaa1', 'eu-west-1'));
    expect([copy.get('TagSpecification.1.ResourceType'), copy.get('TagSpecification.2.ResourceType')]).toEqual(['image', 'snapshot']);
    expect(regionCopyClientToken('ami-0aaaaaaaaaaaaaaa1', 'us-west-2')).not.toBe(copy.get('ClientToken'));
    expect(wire.violations()).toEqual([]);
  });

  it('finds the copy an earlier attempt started, by its name, instead of copying again', async () => {
    const ec2 = createEc2Client('eu-west-1', undefined, env);
    const wire = captureAtTheWire(ec2, () => ec2Xml('DescribeImages', `<imagesSet>${copyItem}</imagesSet>`));
    expect(await startRegionCopy(request(ec2))).toEqual({ amiId: 'ami-0bbbbbbbbbbbbbbb2', outcome: 'found' });
    expect(wire.captured.map((sent) => sent.action)).toEqual(['DescribeImages']);
    expect(wire.violations()).toEqual([]);
  });

  it('reads a lost answer back: CopyImage failed on the wire, the copy exists', async () => {
    const ec2 = createEc2Client('eu-west-1', undefined, env, { maxAttempts: 1 });
    let copied = false;
    const wire = captureAtTheWire(ec2, (sent: CapturedRequest) => {
      if (sent.action === 'CopyImage') {
        copied = true;
        return { status: 500, body: '<Response><Errors><Error><Code>InternalError</Code><Message>lost</Message></Error></Errors><RequestID>x</RequestID></Response>' };
      }
      return ec2Xml('DescribeImages', `<imagesSet>${copied ? copyItem : ''}</imagesSet>`);
    });
    expect(await startRegionCopy(request(ec2))).toEqual({ amiId: 'ami-0bbbbbbbbbbbbbbb2', outcome: 'found' });
    expect(wire.captured.map((sent) => sent.action)).toEqual(['DescribeImages', 'CopyImage', 'DescribeImages']);
  });
});
