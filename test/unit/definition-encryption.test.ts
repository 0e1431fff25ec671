import { describe, expect, it } from 'vitest';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

const key = (region: string) => `arn:aws:kms:${region}:123456789012:key/0b7c1b2e-1111-4222-8333-444455556666`;
const regions = { build: 'us-east-1', copies: ['eu-west-1', 'ap-south-1'] };

describe('encryption', () => {
  it('accepts a key for the build region and for each copy region', () => {
    const { errors, warnings, images } = validateOne({ regions, encryption: { kmsKeyId: key('us-east-1'), regionKmsKeyIds: { 'eu-west-1': key('eu-west-1'), 'ap-south-1': 'alias/golden' } } });
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(images[0]!.encryption).toEqual({ kmsKeyId: key('us-east-1'), regionKmsKeyIds: { 'eu-west-1': key('eu-west-1'), 'ap-south-1': 'alias/golden' } });
  });

  it('names each copy region that has no key', () => {
    const { errors } = validateOne({ regions, encryption: { kmsKeyId: 'alias/golden', regionKmsKeyIds: { 'eu-west-1': 'alias/golden' } } });
    expect(errors).toEqual([
      'images/web.ts: encryption.regionKmsKeyIds: has no key for copy region "ap-south-1". An encrypted image needs a KMS key in every region it is copied to; add "ap-south-1": "arn:aws:kms:ap-south-1:…".',
    ]);
  });

  it('warns about a key for a region that is not a copy region', () => {
    const { errors, warnings } = validateOne({ encryption: { kmsKeyId: 'alias/golden', regionKmsKeyIds: { 'eu-west-2': 'alias/golden' } } });
    expect(errors).toEqual([]);
    expect(warnings).toEqual(['images/web.ts: encryption.regionKmsKeyIds.eu-west-2: "eu-west-2" is not a copy region, so this key is unused. Remove it, or add "eu-west-2" to regions.copies.']);
  });

  it('rejects a key ARN from another region', () => {
    const { errors } = validateOne({ regions, encryption: { kmsKeyId: key('us-west-2'), regionKmsKeyIds: { 'eu-west-1': key('eu-west-1'), 'ap-south-1': key('eu-west-1') } } });
    expect(errors).toEqual([
      'images/web.ts: encryption.kmsKeyId: the key is in us-west-2 but the image is built in us-east-1. KMS keys are regional; use a key in us-east-1.',
      'images/web.ts: encryption.regionKmsKeyIds.ap-south-1: the key is in eu-west-1, not ap-south-1. KMS keys are regional; use a key in ap-south-1.',
    ]);
  });

  it('rejects something that is not a KMS key', () => {
    const { errors } = validateOne({ encryption: { kmsKeyId: 'my-key' } });
    expect(errors).toEqual(['images/web.ts: encryption.kmsKeyId: "my-key" is not a KMS key (a key ID, "alias/name", or a key or alias ARN).']);
  });

  it('rejects an unencrypted AMI volume on an encrypted image', () => {
    const { errors } = validateOne({ encryption: { kmsKeyId: 'alias/golden' }, blockDevices: { ami: [{ deviceName: '/dev/xvdb', sizeGiB: 20, encrypted: false }] } });
    expect(errors).toEqual(['images/web.ts: blockDevices.ami[0].encrypted: false contradicts encryption, which encrypts every volume of the image. Remove encrypted: false.']);
  });
});
