import { describe, expect, it } from 'vitest';
import { osPresets, vendorAccounts } from '../../src/definition/presets.ts';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

describe('OS presets', () => {
  it('covers the operating systems EC2 supports', () => {
    expect(Object.keys(osPresets).sort()).toEqual(
      [
        'amazon-linux-2',
        'amazon-linux-2023',
        'debian-12',
        'fedora',
        'freebsd-14',
        'oracle-linux-9',
        'rhel-9',
        'sles-15',
        'ubuntu-22.04',
        'ubuntu-24.04',
        'windows-server-2019',
        'windows-server-2022',
        'windows-server-2025',
      ].sort(),
    );
  });

  it('uses public SSM parameters where AWS publishes one and vendor owner filters otherwise', () => {
    expect(osPresets['ubuntu-24.04'].base.x86_64).toEqual({ kind: 'ssm', parameter: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id' });
    expect(osPresets['debian-12'].base.arm64).toEqual({ kind: 'ssm', parameter: '/aws/service/debian/release/12/latest/arm64' });
    expect(osPresets['windows-server-2022'].base.x86_64).toEqual({ kind: 'ssm', parameter: '/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base' });
    expect(osPresets.fedora.base.x86_64).toMatchObject({ kind: 'filter', owners: [vendorAccounts.fedora], includeDeprecated: false });
    expect(osPresets['oracle-linux-9'].base.x86_64).toMatchObject({ kind: 'filter', owners: ['131827586825'] });
    expect(osPresets['freebsd-14'].base.x86_64).toMatchObject({ kind: 'filter', owners: ['782442783595'] });
  });

  it('gives every preset an x86_64 base, a login user and a package manifest command', () => {
    for (const preset of Object.values(osPresets)) {
      expect(preset.base.x86_64).toBeDefined();
      expect(preset.sshUsername).not.toBe('');
      expect(preset.packageManifestCommand).toMatch(/^(rpm -qa|dpkg-query -W|@\(Get-Package|pkg query)/);
    }
  });

  it('takes the platform, login user and manifest command from the preset', () => {
    const { errors, images } = validateOne({ base: { preset: 'windows-server-2022' }, provision: [{ powershell: 'Install-WindowsFeature Web-Server' }] });
    expect(errors).toEqual([]);
    expect(images[0]).toMatchObject({ platform: 'windows', preset: 'windows-server-2022', packageManifestCommand: expect.stringMatching(/^@\(Get-Package .*Get-HotFix/) });
    expect(images[0]!.smoke.documentName).toBe('AWS-RunPowerShellScript');
    expect(validateOne({ base: { preset: 'debian-12' } }).images[0]!.buildInfrastructure.sshUsername).toBe('admin');
  });

  it('picks the base for the image architecture', () => {
    const { images } = validateOne({ base: { preset: 'amazon-linux-2023' }, architecture: 'arm64', instanceType: 't4g.small' });
    expect(images[0]!.base).toEqual({ kind: 'ssm', parameter: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64' });
  });

  it('rejects an unknown preset with a suggestion', () => {
    const { errors } = validateOne({ base: { preset: 'ubuntu-24.4' } });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^images\/web\.ts: base\.preset: "ubuntu-24\.4" is not an OS preset\. Did you mean "ubuntu-24\.04"\? Presets: amazon-linux-2023, /);
  });

  it('rejects a preset that has no build for the architecture', () => {
    const { errors } = validateOne({ base: { preset: 'windows-server-2022' }, architecture: 'arm64', instanceType: 'm7g.large' });
    expect(errors).toContain(
      'images/web.ts: base.preset: "windows-server-2022" (Windows Server 2022 Datacenter, English, full desktop) is not published for arm64 on EC2; it has x86_64. Set architecture to x86_64, or choose another preset.',
    );
  });

  it('rejects a platform that contradicts the preset', () => {
    const { errors } = validateOne({ base: { preset: 'windows-server-2019' }, platform: 'linux' });
    expect(errors).toEqual(['images/web.ts: platform: "linux" does not match base.preset "windows-server-2019", which is windows. Remove platform (the preset sets it) or choose a linux preset.']);
  });
});
