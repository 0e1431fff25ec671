import { describe, expect, it } from 'vitest';
import { projectDir, validateOne } from '../fixtures/definitions/validate-one.ts';

describe('escape hatches', () => {
  it('accepts a template and a partial that exist', () => {
    const { errors, images } = validateOne({ template: 'custom.pkr.hcl.hbs', partial: 'extra' });
    expect(errors).toEqual([]);
    expect(images[0]!.template).toBe(`${projectDir}templates/custom.pkr.hcl.hbs`);
    expect(images[0]!.partial).toBe('extra');
  });

  it('names a template or partial that does not exist', () => {
    const { errors } = validateOne({ template: 'absent.pkr.hcl.hbs', partial: 'absent' });
    expect(errors).toEqual([
      `images/web.ts: template: "absent.pkr.hcl.hbs" does not exist in templates/ (looked for ${projectDir}templates/absent.pkr.hcl.hbs). Add the file, or remove template to use gild's own.`,
      'images/web.ts: partial: "absent" does not exist (looked for templates/partials/absent.pkr.hcl.hbs). Add the file, or use one of: extra.',
    ]);
  });

  it('keeps templates inside templates/', () => {
    expect(validateOne({ template: '../secrets.hbs' }).errors).toHaveLength(1);
  });

  it('passes through packerSource settings gild does not own', () => {
    const { errors, images } = validateOne({ packerSource: { ena_support: true, ssh_timeout: '10m' } });
    expect(errors).toEqual([]);
    expect(images[0]!.packerSource).toEqual({ ena_support: true, ssh_timeout: '10m' });
  });

  it('refuses keys gild owns and names what to use instead', () => {
    const { errors } = validateOne({ packerSource: { ami_users: ['111122223333'], tags: { a: 'b' }, 'bad-key': 1 } });
    expect(errors).toEqual([
      'images/web.ts: packerSource.ami_users: Packer would share the AMI before gild tags it and before its smoke test; gild applies launchPermissions itself, after the smoke test. Use launchPermissions.accounts instead.',
      'images/web.ts: packerSource.tags: is set by gild from the definition, so it cannot be overridden here. Use tags instead.',
      'images/web.ts: packerSource: key "bad-key" is not a Packer setting name. Keys are identifiers such as "ena_support".',
    ]);
  });

  it('refuses sharing with "all" through packerSource, which would bypass the public-image checks', () => {
    const { errors } = validateOne({ packerSource: { ami_groups: ['all'] } });
    expect(errors).toEqual([
      'images/web.ts: packerSource.ami_groups: ["all"] would make the image public without the checks that launchPermissions applies (least privilege). Use launchPermissions: { public: true, reason: "…" }, which pipeline/settings.ts must allow.',
    ]);
  });

  it('refuses encrypt_boot = false when encryption is set', () => {
    const { errors } = validateOne({ encryption: { kmsKeyId: 'alias/golden' }, packerSource: { encrypt_boot: false } });
    expect(errors).toEqual(['images/web.ts: packerSource.encrypt_boot: false contradicts encryption, which encrypts the boot volume. Remove packerSource.encrypt_boot, or remove encryption.']);
  });

  it('refuses communicator overrides on Windows', () => {
    const { errors } = validateOne({ base: { preset: 'windows-server-2022' }, packerSource: { communicator: 'ssh', winrm_use_ssl: false } });
    expect(errors).toEqual([
      'images/web.ts: packerSource.communicator: overrides the WinRM communicator gild configures for Windows images. Remove it; gild connects with WinRM over HTTPS.',
      'images/web.ts: packerSource.winrm_use_ssl: overrides the WinRM communicator gild configures for Windows images. Remove it; gild connects with WinRM over HTTPS.',
    ]);
  });
});
