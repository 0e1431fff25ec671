import { describe, expect, it } from 'vitest';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

const windows = { platform: 'windows', base: { preset: 'windows-server-2022' }, instanceType: 'm6i.large' } as const;

describe('generalize and patch in a definition', () => {
  it('generalizes and patches by default on a preset, and names the EC2Launch generation of a Windows preset', () => {
    const [linux] = validateOne({}).images;
    expect(linux?.generalize).toEqual({ kind: 'on', keep: [], reason: undefined, launchAgent: undefined });
    expect(linux?.patch).toEqual({ enabled: true, packageManager: 'dnf' });
    expect(validateOne(windows).images[0]?.generalize).toMatchObject({ kind: 'on', launchAgent: 'ec2launch-v2' });
    expect(validateOne({ ...windows, base: { preset: 'windows-server-2019' } }).images[0]?.generalize).toMatchObject({ launchAgent: 'ec2launch-v1' });
  });

  it('does not patch an image built on a named AMI unless asked, since no preset says what it runs', () => {
    expect(validateOne({ base: { ami: 'ami-0123456789abcdef0' } }).images[0]?.patch).toEqual({ enabled: false, packageManager: undefined });
    expect(validateOne({ base: { ami: 'ami-0123456789abcdef0' }, patch: true }).images[0]?.patch).toEqual({ enabled: true, packageManager: undefined });
  });

  it('keeps an item only with a reason', () => {
    expect(validateOne({ generalize: { keep: ['ssh-host-keys'], reason: 'clients pin the host key' } }).errors).toEqual([]);
    expect(validateOne({ generalize: { keep: ['ssh-host-keys', 'machine-id'] } }).errors).toEqual([
      'images/web.ts: generalize: keep: ["ssh-host-keys", "machine-id"] needs a reason, which the plan shows. Add reason: "why instances launched from this image need the build\'s ssh-host-keys, machine-id".',
    ]);
    expect(validateOne({ generalize: { keep: ['machine-id'], reason: '   ' } }).errors).toHaveLength(1);
  });

  it('turns the step off only with a reason, and says how to write one for a bare false', () => {
    expect(validateOne({ generalize: { enabled: false, reason: 'a forensic snapshot, captured as it is' } }).images[0]?.generalize).toEqual({
      kind: 'off',
      reason: 'a forensic snapshot, captured as it is',
      bare: false,
    });
    expect(validateOne({ generalize: false }).errors).toEqual([
      'images/web.ts: generalize: false needs a reason, which the plan shows. Write generalize: { enabled: false, reason: "why this image is captured without being generalized" }.',
    ]);
    expect(validateOne({ generalize: { enabled: false } }).errors).toEqual([
      'images/web.ts: generalize: enabled: false needs a reason, which the plan shows. Add reason: "why this image is captured without being generalized".',
    ]);
  });

  it('refuses an item it does not know', () => {
    const { errors } = validateOne({ generalize: { keep: ['bash-history'], reason: 'x' } });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^images\/web\.ts: generalize\.keep\[0\]: "bash-history" is not allowed\. Use one of: "package-caches", "cloud-init", "ssh-host-keys"/);
  });

  it('refuses a Windows definition that runs Sysprep itself, since gild runs it last', () => {
    const { errors } = validateOne({
      ...windows,
      provision: [{ powershell: ['Install-WindowsFeature Web-Server', '& "$env:ProgramFiles\\Amazon\\EC2Launch\\ec2launch.exe" sysprep --shutdown=true'] }],
    });
    expect(errors).toEqual([
      'images/web.ts: provision[0].powershell: "& \\"$env:ProgramFiles\\\\Amazon\\\\EC2Launch\\\\ec2launch.exe\\" sysprep --shutdown=true" runs Sysprep, which gild runs itself as the last step (EC2Launch, then shutdown) so that nothing runs after it. Remove the command; to run your own Sysprep instead, set generalize: { enabled: false, reason }.',
    ]);
    const ownSysprep = { enabled: false, reason: 'our own unattend.xml' };
    expect(validateOne({ ...windows, generalize: ownSysprep, provision: [{ powershell: 'C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown' }] }).errors).toEqual([]);
  });

  it('refuses the Packer settings of the generalize step through packerSource, naming the field to use', () => {
    expect(validateOne({ packerSource: { ssh_clear_authorized_keys: false } }).errors).toEqual([
      "images/web.ts: packerSource.ssh_clear_authorized_keys: is set by gild from the definition, so it cannot be overridden here. Use generalize (keep: ['authorized-keys'] with a reason) instead.",
    ]);
    expect(validateOne({ ...windows, packerSource: { disable_stop_instance: false } }).errors).toHaveLength(1);
  });

  it('refuses keep on Windows, where Sysprep is one step', () => {
    expect(validateOne({ ...windows, generalize: { keep: ['machine-id'], reason: 'x' } }).errors).toEqual([
      'images/web.ts: generalize: keep: lists Linux items; a Windows image is generalized by Sysprep as one step, which cannot keep parts. Remove keep, or turn the step off with generalize: { enabled: false, reason }.',
    ]);
  });
});
