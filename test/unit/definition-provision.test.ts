import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectDir, validateOne } from '../fixtures/definitions/validate-one.ts';

const imagesDir = path.join(projectDir, 'images');

describe('provisioning steps', () => {
  it('resolves inline shell, scripts, uploads and env vars', () => {
    const { errors, images } = validateOne({
      provision: [
        { shell: 'sudo dnf -y update', env: { HTTP_PROXY: 'http://proxy:3128' } },
        { script: 'scripts/harden.sh', expectDisconnect: true, pauseBefore: '30s' },
        { upload: { source: 'files/nginx.conf', destination: '/tmp/nginx.conf' } },
        { upload: { source: 'files/site/', destination: '/usr/share/nginx/html' }, pauseBefore: '1m30s' },
      ],
    });
    expect(errors).toEqual([]);
    expect(images[0]!.provision).toEqual([
      { kind: 'shell', inline: ['sudo dnf -y update'], env: { HTTP_PROXY: 'http://proxy:3128' }, expectDisconnect: false, pauseBefore: undefined },
      { kind: 'script', path: path.join(imagesDir, 'scripts/harden.sh'), env: {}, expectDisconnect: true, pauseBefore: '30s' },
      { kind: 'upload', source: path.join(imagesDir, 'files/nginx.conf'), destination: '/tmp/nginx.conf', pauseBefore: undefined },
      // The trailing slash is kept: Packer uploads the folder's contents.
      { kind: 'upload', source: `${path.join(imagesDir, 'files/site')}/`, destination: '/usr/share/nginx/html', pauseBefore: '1m30s' },
    ]);
  });

  it('names a script that does not exist, relative to the definition', () => {
    const { errors } = validateOne({ provision: [{ shell: 'true' }, { script: 'scripts/missing.sh' }] });
    expect(errors).toEqual([
      `images/web.ts: provision[1].script: "scripts/missing.sh" does not exist (looked for ${path.join(imagesDir, 'scripts/missing.sh')}). Paths are relative to the definition's folder.`,
    ]);
  });

  it('names an upload source that does not exist', () => {
    const { errors } = validateOne({ provision: [{ upload: { source: 'files/absent', destination: '/tmp/x' } }] });
    expect(errors).toEqual([
      `images/web.ts: provision[0].upload.source: "files/absent" does not exist (looked for ${path.join(imagesDir, 'files/absent')}). Paths are relative to the definition's folder.`,
    ]);
  });

  it('rejects a folder given as a script', () => {
    const { errors } = validateOne({ provision: [{ script: 'scripts' }] });
    expect(errors).toEqual(['images/web.ts: provision[0].script: "scripts" is a folder. Name a script file, or upload the folder with { upload: { source, destination } }.']);
  });

  it('rejects a duration that is not a number with a unit', () => {
    const { errors } = validateOne({ provision: [{ shell: 'reboot', expectDisconnect: true, pauseBefore: '30 seconds' }] });
    expect(errors).toEqual(['images/web.ts: provision[0].pauseBefore: "30 seconds" is not a duration. Write a number with a unit: "30s", "5m" or "1h30m".']);
  });

  it('says which step kinds exist when a step has none or two', () => {
    expect(validateOne({ provision: [{ run: 'x' }] }).errors).toEqual(['images/web.ts: provision[0]: give exactly one of shell, script, upload, powershell, restart; found only run.']);
    expect(validateOne({ provision: [{ shell: 'a', script: 'b' }] }).errors).toEqual([
      'images/web.ts: provision[0]: give exactly one of shell, script, upload, powershell, restart; found shell and script.',
    ]);
  });

  it('rejects an environment variable name that a shell cannot export', () => {
    const { errors } = validateOne({ provision: [{ shell: 'env', env: { 'MY-VAR': 'x' } }] });
    expect(errors).toEqual(['images/web.ts: provision[0].env.MY-VAR: key "MY-VAR" is not a valid environment variable name.']);
  });
});
