import { describe, expect, it } from 'vitest';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

describe('build infrastructure', () => {
  it('defaults to a temporary instance profile and IMDSv2', () => {
    const { images } = validateOne({});
    expect(images[0]!.buildInfrastructure).toMatchObject({ temporaryInstanceProfile: true, requireImdsV2: true, sessionManager: false, securityGroupIds: [] });
  });

  it('accepts a subnet, VPC, security groups, a named profile and Session Manager', () => {
    const { errors, images } = validateOne({
      buildInfrastructure: { subnetId: 'subnet-0123456789abcdef0', vpcId: 'vpc-0123abcd', securityGroupIds: ['sg-0123456789abcdef0'], instanceProfile: 'packer-build', sessionManager: true },
    });
    expect(errors).toEqual([]);
    expect(images[0]!.buildInfrastructure).toMatchObject({ instanceProfile: 'packer-build', temporaryInstanceProfile: false, sessionManager: true });
  });

  it('rejects IDs in the wrong format', () => {
    const { errors } = validateOne({ buildInfrastructure: { subnetId: 'subnet-xyz', securityGroupIds: ['default'] } });
    expect(errors).toEqual([
      'images/web.ts: buildInfrastructure.subnetId: "subnet-xyz" is not a subnet ID (e.g. "subnet-0123456789abcdef0").',
      'images/web.ts: buildInfrastructure.securityGroupIds[0]: "default" is not a security group ID (e.g. "sg-0123456789abcdef0").',
    ]);
  });

  it('rejects both a subnet ID and a subnet filter', () => {
    const { errors } = validateOne({ buildInfrastructure: { subnetId: 'subnet-0123abcd', subnetFilter: { 'tag:Tier': 'build' } } });
    expect(errors).toEqual(['images/web.ts: buildInfrastructure: give subnetId or subnetFilter, not both. subnetId names one subnet; subnetFilter lets Packer pick one.']);
  });

  it('rejects both a named and a temporary instance profile', () => {
    const { errors } = validateOne({ buildInfrastructure: { instanceProfile: 'packer-build', temporaryInstanceProfile: true } });
    expect(errors).toEqual(['images/web.ts: buildInfrastructure: give instanceProfile or temporaryInstanceProfile: true, not both. Use a named profile, or let Packer create a temporary one.']);
  });

  it('rejects Session Manager without any instance profile', () => {
    const { errors } = validateOne({ buildInfrastructure: { temporaryInstanceProfile: false, sessionManager: true } });
    expect(errors).toEqual([
      'images/web.ts: buildInfrastructure.sessionManager: needs an instance profile with the AmazonSSMManagedInstanceCore policy. Set instanceProfile, or leave temporaryInstanceProfile on.',
    ]);
  });

  it('rejects a VPC with no subnet to build in', () => {
    expect(validateOne({ buildInfrastructure: { vpcId: 'vpc-0123abcd' } }).errors).toEqual([
      'images/web.ts: buildInfrastructure.vpcId: "vpc-0123abcd" is set without subnetId or subnetFilter. Packer needs a subnet in that VPC; add one.',
    ]);
  });
});
