import { describe, expect, it } from 'vitest';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

const reason = 'Published for customers of our open-source agent to launch.';
const orgArn = 'arn:aws:organizations::111122223333:organization/o-abcdefghij';
const ouArn = 'arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-ab12-cdefgh34';

describe('launch permissions', () => {
  it('is private (implicit) by default', () => {
    expect(validateOne({}).images[0]!.launchPermissions).toEqual({ kind: 'implicit' });
  });

  it('shares with accounts, organizations and organizational units', () => {
    const { errors, images } = validateOne({ launchPermissions: { accounts: ['111122223333'], organizationArns: [orgArn], organizationalUnitArns: [ouArn] } });
    expect(errors).toEqual([]);
    expect(images[0]!.launchPermissions).toEqual({ kind: 'explicit', accounts: ['111122223333'], organizationArns: [orgArn], organizationalUnitArns: [ouArn] });
  });

  it('says which account ID is wrong and how to fix it', () => {
    const { errors } = validateOne({ launchPermissions: { accounts: ['111122223333', '12345'] } });
    expect(errors).toEqual(['images/web.ts: launchPermissions.accounts[1]: "12345" is not a 12-digit AWS account ID. Use the account\'s 12-digit ID.']);
  });

  it('rejects a public image when the settings do not allow public images', () => {
    const { errors } = validateOne({ launchPermissions: { public: true, reason } });
    expect(errors).toEqual([
      'images/web.ts: launchPermissions.public: pipeline/settings.ts does not allow public images (allowPublicImages is false), and an image is private unless it must not be (least privilege). Share with accounts, organizationArns or organizationalUnitArns instead.',
    ]);
  });

  it('rejects a public image without a written reason even when allowed', () => {
    expect(validateOne({ launchPermissions: { public: true } }, { allowPublicImages: true }).errors).toEqual([
      'images/web.ts: launchPermissions.reason: is missing. A public image needs a written reason of at least 20 characters saying why anyone on AWS must be able to launch it.',
    ]);
    expect(validateOne({ launchPermissions: { public: true, reason: 'because' } }, { allowPublicImages: true }).errors).toEqual([
      'images/web.ts: launchPermissions.reason: "because" is too short. A public image needs a written reason of at least 20 characters saying why anyone on AWS must be able to launch it.',
    ]);
  });

  it('allows a public image with settings permission and a reason', () => {
    const { errors, images } = validateOne({ launchPermissions: { public: true, reason } }, { allowPublicImages: true });
    expect(errors).toEqual([]);
    expect(images[0]!.launchPermissions).toEqual({ kind: 'public', reason });
  });

  it('rejects public together with accounts', () => {
    expect(validateOne({ launchPermissions: { public: true, reason, accounts: ['111122223333'] } }).errors).toEqual([
      'images/web.ts: launchPermissions: give exactly one of public, accounts; found public and accounts.',
    ]);
  });

  it('warns when the publishing account is in the accounts list', () => {
    const { errors, warnings } = validateOne({ launchPermissions: { accounts: ['123456789012', '111122223333'] } }, { accountId: '123456789012' });
    expect(errors).toEqual([]);
    expect(warnings).toEqual(['images/web.ts: launchPermissions.accounts[0]: "123456789012" is the publishing account, which owns the image and can always launch it. Remove it.']);
  });

  it('rejects an organizational unit ARN that is not one', () => {
    const { errors } = validateOne({ launchPermissions: { organizationalUnitArns: [orgArn] } });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^images\/web\.ts: launchPermissions\.organizationalUnitArns\[0\]: ".+" is not an organizational unit ARN/);
  });
});
