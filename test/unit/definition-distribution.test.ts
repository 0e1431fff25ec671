import { describe, expect, it } from 'vitest';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

const roleArn = 'arn:aws:iam::210987654321:role/gild-distribution';
const target = { account: '210987654321', roleArn, regions: ['us-east-1'] };

describe('distribution.accounts', () => {
  it('is empty by default', () => {
    expect(validateOne({}).images[0]!.distribution).toEqual([]);
  });

  it('takes an account, its role, regions of the image and an optional key', () => {
    const { errors, images } = validateOne({
      regions: { build: 'us-east-1', copies: ['eu-west-1'] },
      distribution: { accounts: [{ ...target, regions: ['us-east-1', 'eu-west-1'], kmsKeyId: 'alias/golden' }] },
    });
    expect(errors).toEqual([]);
    expect(images[0]!.distribution).toEqual([{ account: '210987654321', roleArn, regions: ['us-east-1', 'eu-west-1'], kmsKeyId: 'alias/golden', smoke: false }]);
  });

  it('says what is wrong with the shape of an entry, all at once', () => {
    const { errors } = validateOne({ distribution: { accounts: [{ account: '12345', roleArn: 'gild-distribution', regions: ['us-east-9'], kmsKey: 'alias/golden' }] } });
    expect(errors).toEqual([
      'images/web.ts: distribution.accounts[0].account: "12345" is not a 12-digit AWS account ID. Use the target account\'s 12-digit ID.',
      'images/web.ts: distribution.accounts[0].roleArn: "gild-distribution" is not an IAM role ARN. Use the role gild assumes in that account, e.g. "arn:aws:iam::210987654321:role/gild-distribution".',
      'images/web.ts: distribution.accounts[0].regions[0]: "us-east-9" is not an AWS region. Did you mean "us-east-1"?',
      'images/web.ts: distribution.accounts[0].kmsKey: is not a known field. Did you mean kmsKeyId? Rename it, or remove it (field reference: docs/definitions.md).',
    ]);
  });

  it('takes smoke as where to launch in that account, with the instance profile there', () => {
    const { errors, images } = validateOne({
      distribution: {
        accounts: [
          { ...target, smoke: { subnetId: 'subnet-0123456789abcdef0', instanceProfile: 'gild-smoke' } },
          { ...target, account: '111111111111', roleArn: 'arn:aws:iam::111111111111:role/gild', smoke: { instanceProfile: 'gild-smoke' } },
        ],
      },
    });
    expect(errors).toEqual([]);
    expect(images[0]!.distribution.map((entry) => entry.smoke)).toEqual([{ subnetId: 'subnet-0123456789abcdef0', instanceProfile: 'gild-smoke' }, { instanceProfile: 'gild-smoke' }]);
    expect(validateOne({ distribution: { accounts: [{ ...target, smoke: { subnetId: 'sub-1' } }] } }).errors).toEqual([expect.stringMatching(/^images\/web\.ts: distribution\.accounts\[0\]\.smoke/)]);
  });

  it('refuses smoke without an instance profile in that account, which SSM Run Command needs to reach the test instance', () => {
    const { errors } = validateOne({
      distribution: {
        accounts: [
          { ...target, smoke: true },
          { ...target, account: '111111111111', roleArn: 'arn:aws:iam::111111111111:role/gild', smoke: { subnetId: 'subnet-0123456789abcdef0' } },
        ],
      },
    });
    expect(errors).toEqual([
      'images/web.ts: distribution.accounts[0].smoke: the smoke test there needs an instance profile in account 210987654321 (SSM Run Command reaches no instance without one, and the building account\'s does not exist there). Give smoke: { instanceProfile: "<a profile in 210987654321 with AmazonSSMManagedInstanceCore>" }.',
      'images/web.ts: distribution.accounts[1].smoke: the smoke test there needs an instance profile in account 111111111111 (SSM Run Command reaches no instance without one, and the building account\'s does not exist there). Give smoke: { instanceProfile: "<a profile in 111111111111 with AmazonSSMManagedInstanceCore>" }.',
    ]);
  });

  it('needs at least one region', () => {
    const { errors } = validateOne({ distribution: { accounts: [{ ...target, regions: [] }] } });
    expect(errors).toEqual([expect.stringMatching(/distribution\.accounts\[0\]\.regions: .*needs at least one region/)]);
  });

  it('refuses a role in another account, a region the image is not in, duplicates and the building account', () => {
    const { errors } = validateOne(
      {
        distribution: {
          accounts: [
            { ...target, roleArn: 'arn:aws:iam::111111111111:role/gild-distribution', regions: ['us-east-1', 'eu-west-1', 'us-east-1'] },
            { ...target },
            { account: '123456789012', roleArn: 'arn:aws:iam::123456789012:role/gild', regions: ['us-east-1'] },
          ],
        },
      },
      { accountId: '123456789012' },
    );
    expect(errors).toEqual([
      'images/web.ts: distribution.accounts[0].roleArn: the role is in account 111111111111, not 210987654321. Use a role in 210987654321 (the copies belong to the account whose role makes them).',
      'images/web.ts: distribution.accounts[0].regions[1]: "eu-west-1" is not one of the image\'s regions (us-east-1). A copy is made from the image\'s AMI in the same region; add "eu-west-1" to regions.copies, or remove it here.',
      'images/web.ts: distribution.accounts[0].regions[2]: "us-east-1" is listed twice. Remove the duplicate.',
      'images/web.ts: distribution.accounts[1].account: "210987654321" is already listed at distribution.accounts[0]. List each account once, with all its regions.',
      'images/web.ts: distribution.accounts[2].account: "123456789012" is the building account, which already owns the image. Remove it; list only other accounts.',
    ]);
  });

  it('refuses a key ARN of another region or another account', () => {
    const { errors } = validateOne({
      regions: { build: 'us-east-1', copies: ['us-west-2'] },
      distribution: { accounts: [{ ...target, regions: ['us-east-1', 'us-west-2'], kmsKeyId: 'arn:aws:kms:us-east-1:111111111111:key/0123abcd-0123-4567-89ab-0123456789ab' }] },
    });
    expect(errors).toEqual([
      'images/web.ts: distribution.accounts[0].kmsKeyId: the key ARN names us-east-1, but KMS keys are regional and the copies go to us-east-1, us-west-2. Use an alias ("alias/name"), which each region resolves to that account\'s key there, or one account entry per region.',
      'images/web.ts: distribution.accounts[0].kmsKeyId: the key is in account 111111111111, not 210987654321. Encrypt the copies with a key of the account that owns them.',
    ]);
  });
});
