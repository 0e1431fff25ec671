import { describe, expect, it } from 'vitest';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

const windows = { base: { preset: 'windows-server-2022' }, instanceType: 't3.large' };

describe('Windows and Linux provisioning steps', () => {
  it('accepts PowerShell and restarts on Windows', () => {
    const { errors, images } = validateOne({ ...windows, provision: [{ powershell: ['Install-WindowsFeature Web-Server'] }, { restart: { timeout: '15m' } }, { restart: true }] });
    expect(errors).toEqual([]);
    expect(images[0]!.provision).toEqual([
      { kind: 'powershell', inline: ['Install-WindowsFeature Web-Server'], env: {}, pauseBefore: undefined },
      { kind: 'restart', timeout: '15m', pauseBefore: undefined },
      { kind: 'restart', timeout: undefined, pauseBefore: undefined },
    ]);
  });

  it('rejects shell and script steps on Windows, which has no bash', () => {
    const { errors } = validateOne({ ...windows, provision: [{ shell: 'echo hi' }, { script: 'scripts/harden.sh' }] });
    expect(errors).toEqual([
      'images/web.ts: provision[0].shell: runs bash, which Windows images do not have. Use { powershell: [...] } instead.',
      'images/web.ts: provision[1].script: runs bash, which Windows images do not have. Use { powershell: [...] } instead.',
    ]);
  });

  it('rejects PowerShell and restart steps on Linux', () => {
    const { errors } = validateOne({ provision: [{ powershell: 'Get-Date' }, { restart: true }] });
    expect(errors).toEqual([
      'images/web.ts: provision[0].powershell: is for Windows images only. On Linux use { shell: [...] }, with expectDisconnect: true for a step that reboots.',
      'images/web.ts: provision[1].restart: is for Windows images only. On Linux use { shell: [...] }, with expectDisconnect: true for a step that reboots.',
    ]);
  });

  it('rejects Windows on arm64 even without a preset', () => {
    const { errors } = validateOne({ base: { ssmParameter: '/golden/windows' }, platform: 'windows', architecture: 'arm64', instanceType: 'm7g.large' });
    expect(errors).toEqual(['images/web.ts: architecture: "arm64" is not available for Windows on EC2. Use architecture: "x86_64".']);
  });
});
