/**
 * Calls gild makes only on AWS, which moto does not implement (EMULATOR.md): each is built, serialized and signed by
 * gild's own SDK client through the real adapter, taken off the wire right before sending (aws-model-capture.ts),
 * held to AWS's service model and documented rules by the same checker the integration proxies use, and answered
 * with a canned response in EC2's or SSM's format.
 */
import { DescribeImageReferencesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { copyImageIntoAccount, createEc2Client, describeImageReferences, disableImage, enableImageDeprecation } from '../../src/adapters/ec2.ts';
import { createSsmClient, describeParameterNames } from '../../src/adapters/ssm.ts';
import { captureAtTheWire, type CapturedRequest } from '../support/aws-model-capture.ts';

const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
const ec2Xml = (action: string, inner: string) => ({ body: `<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>canned</requestId>${inner}</${action}Response>` });
const form = (request: CapturedRequest) => request.params as URLSearchParams;
const imageIds = (count: number) => Array.from({ length: count }, (_, index) => `ami-${String(index + 1).padStart(17, '0')}`);

describe('the wire check names a request AWS would refuse', () => {
  it('11 ImageIds to DescribeImageReferences: the operation, member, value and rule, and that gild sent it', async () => {
    const ec2 = createEc2Client('us-east-1', undefined, env);
    const wire = captureAtTheWire(ec2, () => ec2Xml('DescribeImageReferences', '<imageReferenceSet/>'));
    await ec2.send(new DescribeImageReferencesCommand({ ImageIds: imageIds(11), IncludeAllResourceTypes: true, MaxResults: 1 }));
    const [violation, maxResults, ...rest] = wire.captured[0]!.check.violations;
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({ service: 'ec2', operation: 'DescribeImageReferences', member: 'ImageIds', rule: expect.stringContaining('list length at most 10') });
    expect(violation!.value).toContain('ami-00000000000000011');
    expect(violation!.sender).toMatch(/^gild \(aws-sdk-js/);
    expect(maxResults).toMatchObject({ member: 'MaxResults', value: '1', rule: expect.stringContaining('at least 5') });
    expect(wire.violations()[0]).toMatch(/^ec2 DescribeImageReferences: ImageIds = \[.*\] \(11 items\) breaks AWS's rule: list length at most 10 .* — sent by gild/);
  });
});

describe('AWS-only calls, built by gild and held to AWS rules', () => {
  it('describeImageReferences: batches of at most 10 AMIs, a valid MaxResults, every page followed', async () => {
    const ec2 = createEc2Client('us-east-1', undefined, env);
    const wire = captureAtTheWire(ec2, (request) => {
      const ids = [...form(request).entries()].filter(([name]) => name.startsWith('ImageId.')).map(([, value]) => value);
      // The first batch answers in two pages: the adapter must follow the token.
      if (ids.includes('ami-00000000000000001') && !form(request).get('NextToken')) {
        return ec2Xml(
          'DescribeImageReferences',
          `<imageReferenceSet><item><imageId>ami-00000000000000001</imageId><resourceType>ec2:Instance</resourceType><arn>arn:aws:ec2:us-east-1:123456789012:instance/i-1</arn></item></imageReferenceSet><nextToken>page-2</nextToken>`,
        );
      }
      const last = ids.at(-1)!;
      return ec2Xml(
        'DescribeImageReferences',
        `<imageReferenceSet><item><imageId>${last}</imageId><resourceType>ec2:LaunchTemplate</resourceType><arn>arn:aws:ec2:us-east-1:123456789012:launch-template/lt-${last}</arn></item></imageReferenceSet>`,
      );
    });
    const references = await describeImageReferences(ec2, imageIds(23));
    expect(wire.violations()).toEqual([]);
    const batches = wire.captured.map((request) => [...form(request).keys()].filter((name) => name.startsWith('ImageId.')).length);
    expect(batches).toEqual([10, 10, 10, 3]);
    expect(form(wire.captured[1]!).get('NextToken')).toBe('page-2');
    expect(references.map((reference) => reference.amiId)).toEqual(['ami-00000000000000001', 'ami-00000000000000010', 'ami-00000000000000020', 'ami-00000000000000023']);
  });

  it('enableImageDeprecation: DeprecateAt at least a minute ahead, on a whole minute', async () => {
    const ec2 = createEc2Client('us-east-1', undefined, env);
    const now = new Date('2026-12-07T06:30:29.500Z');
    const wire = captureAtTheWire(ec2, undefined, () => now);
    await enableImageDeprecation(ec2, 'ami-0123456789abcdef0', now);
    expect(wire.violations()).toEqual([]);
    const sent = new Date(form(wire.captured[0]!).get('DeprecateAt')!);
    expect(sent.getTime() - now.getTime()).toBeGreaterThanOrEqual(60_000);
    expect(sent.getUTCSeconds()).toBe(0);
    expect(sent.getUTCMilliseconds()).toBe(0);
  });

  it('the checker refuses DeprecateAt = now, as AWS does once it rounds the seconds', async () => {
    const ec2 = createEc2Client('us-east-1', undefined, env);
    const now = new Date('2026-12-07T06:30:20.000Z');
    const wire = captureAtTheWire(ec2, undefined, () => now);
    const { EnableImageDeprecationCommand } = await import('@aws-sdk/client-ec2');
    await ec2.send(new EnableImageDeprecationCommand({ ImageId: 'ami-0123456789abcdef0', DeprecateAt: now }));
    expect(wire.captured[0]!.check.violations).toMatchObject([{ operation: 'EnableImageDeprecation', member: 'DeprecateAt', rule: expect.stringContaining('must be in the future') }]);
  });

  it('disableImage: a valid DisableImage', async () => {
    const ec2 = createEc2Client('us-east-1', undefined, env);
    const wire = captureAtTheWire(ec2);
    await disableImage(ec2, 'ami-0123456789abcdef0');
    expect(wire.captured.map((request) => request.action)).toEqual(['DisableImage']);
    expect(wire.violations()).toEqual([]);
  });

  it('describeParameterNames with the DataType filter (moto refuses the key; AWS takes it)', async () => {
    const ssm = createSsmClient('us-east-1', env);
    const wire = captureAtTheWire(ssm, (request) =>
      (request.params as Record<string, unknown>).NextToken
        ? { body: JSON.stringify({ Parameters: [{ Name: '/golden/web/v1' }] }) }
        : { body: JSON.stringify({ Parameters: [{ Name: '/golden/web/latest' }], NextToken: 'next' }) },
    );
    expect(await describeParameterNames(ssm, { imagesOnly: true })).toEqual(['/golden/web/latest', '/golden/web/v1']);
    expect(wire.captured.map((request) => request.action)).toEqual(['DescribeParameters', 'DescribeParameters']);
    expect(wire.captured[0]!.params).toMatchObject({ ParameterFilters: [{ Key: 'DataType', Option: 'Equals', Values: ['aws:ec2:image'] }] });
    expect(wire.violations()).toEqual([]);
  });

  it('copyImageIntoAccount with CopyImage (cross-account): every call it makes, in both accounts', async () => {
    const source = createEc2Client('eu-west-1', undefined, env);
    const target = createEc2Client('eu-west-1', undefined, env, { maxAttempts: 1 });
    const image = (id: string, state: string) =>
      `<item><imageId>${id}</imageId><name>web-1.4.2-20261207T0630</name><description>web 1.4.2</description><imageState>${state}</imageState><blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><snapshotId>snap-${id.slice(4)}</snapshotId></ebs></item></blockDeviceMapping></item>`;
    const sourceWire = captureAtTheWire(source, (request) =>
      request.action === 'DescribeImages' ? ec2Xml('DescribeImages', `<imagesSet>${image('ami-0aaaaaaaaaaaaaaa1', 'available')}</imagesSet>`) : undefined,
    );
    let copied = false;
    const answerTarget = (request: CapturedRequest) => {
      if (request.action === 'CopyImage') {
        copied = true;
        return ec2Xml('CopyImage', '<imageId>ami-0bbbbbbbbbbbbbbb2</imageId>');
      }
      if (request.action === 'DescribeImages') return ec2Xml('DescribeImages', `<imagesSet>${copied ? image('ami-0bbbbbbbbbbbbbbb2', 'available') : ''}</imagesSet>`);
      return undefined;
    };
    const targetWire = captureAtTheWire(target as EC2Client, answerTarget);
    const copy = await copyImageIntoAccount({
      source: { ec2: source, amiId: 'ami-0aaaaaaaaaaaaaaa1', region: 'eu-west-1' },
      target: { account: '210987654321', ec2: target, singleAttemptEc2: target },
      kmsKeyId: 'arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      tags: { 'gild:image': 'web', 'gild:version': '1.4.2', Name: 'web 1.4.2' },
      keepSharing: false,
      method: 'copy-image',
      signal: new AbortController().signal,
      pollMs: 1,
    } as Parameters<typeof copyImageIntoAccount>[0]);
    expect(copy).toMatchObject({ amiId: 'ami-0bbbbbbbbbbbbbbb2', outcome: 'copied' });
    expect(targetWire.captured.map((request) => request.action)).toContain('CopyImage');
    expect(sourceWire.captured.map((request) => request.action)).toEqual(expect.arrayContaining(['ModifyImageAttribute', 'ModifySnapshotAttribute']));
    const copyRequest = form(targetWire.captured.find((request) => request.action === 'CopyImage')!);
    expect(copyRequest.get('SourceRegion')).toBe('eu-west-1');
    expect(copyRequest.get('Encrypted')).toBe('true');
    expect([...sourceWire.violations(), ...targetWire.violations()]).toEqual([]);
  });
});
