import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResolvedImage } from '../../src/definition/resolved-image.ts';
import { sharedBytesLimit, sharedReads } from '../../src/render/file-reads.ts';
import { fingerprintImage } from '../../src/render/fingerprint-image.ts';
import { repoRoot } from '../support/project.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const packer = { major: 1, minor: 6, patch: 6, raw: 'Packer v1.6.6' };
let project: string;
let templatesDir: string;

beforeEach(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'gild-fingerprint-'));
  templatesDir = path.join(project, 'templates');
  await cp(path.join(repoRoot, 'templates'), templatesDir, { recursive: true });
  await mkdir(path.join(project, 'images', 'files', 'tree'), { recursive: true });
  await writeFile(path.join(project, 'images', 'harden.sh'), '#!/bin/sh\necho hardened\n');
  await writeFile(path.join(project, 'images', 'files', 'tree', 'a.conf'), 'a\n');
});
afterEach(async () => {
  await rm(project, { recursive: true, force: true });
});

function linuxImage(overrides: Partial<ResolvedImage> = {}): ResolvedImage {
  const dir = path.join(project, 'images');
  return resolvedImageFixture({
    dir,
    provision: [
      { kind: 'script', path: path.join(dir, 'harden.sh'), env: {}, expectDisconnect: false, pauseBefore: undefined },
      { kind: 'upload', source: path.join(dir, 'files', 'tree'), destination: '/etc/app', pauseBefore: undefined },
    ],
    ...overrides,
  });
}
const windowsImage = (): ResolvedImage => resolvedImageFixture({ name: 'win', platform: 'windows', instanceType: 't3.large', dir: path.join(project, 'images') });
const fingerprint = async (image: ResolvedImage) => (await fingerprintImage(image, { templatesDir, packer })).fingerprint;

describe('fingerprintImage', () => {
  it('is the same for the same image, and names every file it read', async () => {
    const result = await fingerprintImage(linuxImage(), { templatesDir, packer });
    expect(result.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprint(linuxImage())).toBe(result.fingerprint);
    expect(result.files).toEqual([path.join(templatesDir, 'amazon-ebs.pkr.hcl.hbs'), path.join(project, 'images', 'harden.sh'), path.join(project, 'images', 'files', 'tree', 'a.conf')]);
  });

  it('does not change with retention, smoke checks or the version being built', async () => {
    const before = await fingerprint(linuxImage());
    expect(await fingerprint(linuxImage({ retention: { keep: 9, minAgeDays: 0, phases: {} } }))).toBe(before);
    const smoke = { ...linuxImage().smoke, checks: [{ name: 'nginx', run: 'systemctl is-active nginx', expectExitCode: 0 }], timeoutSeconds: 60 };
    expect(await fingerprint(linuxImage({ smoke }))).toBe(before);
    expect(await fingerprint(linuxImage({ version: '9.9.9' }))).toBe(before);
  });

  it('changes with who may launch the image, though gild shares after the build and Packer is never told', async () => {
    const accounts = (list: string[]) => linuxImage({ launchPermissions: { kind: 'explicit', accounts: list, organizationArns: [], organizationalUnitArns: [] } });
    const unshared = await fingerprint(linuxImage());
    const shared = await fingerprint(accounts(['111122223333']));
    expect(shared).not.toBe(unshared);
    expect(await fingerprint(accounts(['111122223333', '444455556666']))).not.toBe(shared);
    expect(await fingerprint(accounts(['111122223333']))).toBe(shared);
  });

  it('changes when a referenced script, a file in an uploaded tree, the template or a tag changes', async () => {
    const before = await fingerprint(linuxImage());
    await writeFile(path.join(project, 'images', 'harden.sh'), '#!/bin/sh\necho hardened twice\n');
    const afterScript = await fingerprint(linuxImage());
    expect(afterScript).not.toBe(before);
    await writeFile(path.join(project, 'images', 'files', 'tree', 'b.conf'), 'b\n');
    const afterTree = await fingerprint(linuxImage());
    expect(afterTree).not.toBe(afterScript);
    await writeFile(path.join(templatesDir, 'amazon-ebs.pkr.hcl.hbs'), `# edited\n${'x'}`, { flag: 'a' });
    expect(await fingerprint(linuxImage())).not.toBe(afterTree);
    expect(await fingerprint(linuxImage({ tags: { team: 'other' } }))).not.toBe(await fingerprint(linuxImage()));
  });

  it('changes only Windows images when the Windows user data changes', async () => {
    const [linuxBefore, windowsBefore] = [await fingerprint(linuxImage()), await fingerprint(windowsImage())];
    await writeFile(path.join(templatesDir, 'user-data', 'enable-winrm.ps1'), '# edited\n', { flag: 'a' });
    expect(await fingerprint(linuxImage())).toBe(linuxBefore);
    expect(await fingerprint(windowsImage())).not.toBe(windowsBefore);
  });

  it('is the same for a copy of the project in another folder', async () => {
    const before = await fingerprint(linuxImage());
    const copy = `${project}-copy`;
    await cp(project, copy, { recursive: true });
    try {
      const dir = path.join(copy, 'images');
      const moved = linuxImage({
        dir,
        provision: [
          { kind: 'script', path: path.join(dir, 'harden.sh'), env: {}, expectDisconnect: false, pauseBefore: undefined },
          { kind: 'upload', source: path.join(dir, 'files', 'tree'), destination: '/etc/app', pauseBefore: undefined },
        ],
      });
      expect((await fingerprintImage(moved, { templatesDir: path.join(copy, 'templates'), packer })).fingerprint).toBe(before);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('refuses, naming the largest files, uploads beyond the size limit', async () => {
    await writeFile(path.join(project, 'images', 'files', 'tree', 'big.bin'), Buffer.alloc(4096));
    await expect(fingerprintImage(linuxImage(), { templatesDir, packer, sizeLimit: 1024 })).rejects.toMatchObject({
      code: 'EDEFINITIONS',
      details: [expect.stringMatching(/more than the 1024 bytes gild fingerprints per image \(largest: files\/tree\/big\.bin \(4096 bytes\)/)],
    });
  });

  it('hashes a symbolic link to a folder as its target path, without following it', async () => {
    await symlink('/etc', path.join(project, 'images', 'files', 'tree', 'etc-link'));
    const result = await fingerprintImage(linuxImage(), { templatesDir, packer });
    expect(result.files.some((file) => file.includes('etc-link'))).toBe(false);
  });

  describe('with the files read once for every image (sharedReads, as a plan fingerprints its fleet)', () => {
    it('gives every image the fingerprint fresh reads give, files beyond the in-memory limit (streamed) included', async () => {
      await writeFile(path.join(project, 'images', 'files', 'tree', 'large.bin'), Buffer.alloc(sharedBytesLimit + 1, 7));
      await symlink('/etc', path.join(project, 'images', 'files', 'tree', 'etc-link'));
      const images = [linuxImage(), linuxImage({ name: 'api' }), windowsImage()];
      const fresh = await Promise.all(images.map((image) => fingerprintImage(image, { templatesDir, packer })));
      const reads = sharedReads();
      const shared = await Promise.all(images.map((image) => fingerprintImage(image, { templatesDir, packer, reads })));
      expect(shared).toEqual(fresh);
      expect(new Set(fresh.map((result) => result.fingerprint)).size).toBe(3);
    });

    it('reads each file once: an edit made meanwhile reaches none of the images fingerprinted with it, and the next plan sees it', async () => {
      const reads = sharedReads();
      const before = (await fingerprintImage(linuxImage(), { templatesDir, packer, reads })).fingerprint;
      await writeFile(path.join(project, 'images', 'harden.sh'), '#!/bin/sh\necho hardened twice\n');
      await writeFile(path.join(templatesDir, 'amazon-ebs.pkr.hcl.hbs'), '# edited\n', { flag: 'a' });
      expect((await fingerprintImage(linuxImage(), { templatesDir, packer, reads })).fingerprint).toBe(before);
      expect((await fingerprintImage(linuxImage(), { templatesDir, packer, reads: sharedReads() })).fingerprint).not.toBe(before);
      expect(await fingerprint(linuxImage())).not.toBe(before);
      const script = path.join(project, 'images', 'harden.sh');
      expect(reads.readBytes(script, 10)).toBe(reads.readBytes(script, 10));
      expect(reads.readBytes(script, sharedBytesLimit + 1)).toBeUndefined();
    });

    it('keeps no more bytes in memory than its budget: past it, files are streamed as a single render streams them', async () => {
      const reads = sharedReads(25);
      const script = path.join(project, 'images', 'harden.sh');
      const other = path.join(project, 'images', 'files', 'tree', 'large.bin');
      expect(reads.readBytes(script, 20)).toBeDefined();
      expect(reads.readBytes(other, 10)).toBeUndefined();
      // What it kept it still gives.
      expect(reads.readBytes(script, 20)).toBe(reads.readBytes(script, 20));
      const within = await fingerprintImage(linuxImage(), { templatesDir, packer, reads: sharedReads(1) });
      expect(within.fingerprint).toBe((await fingerprintImage(linuxImage(), { templatesDir, packer })).fingerprint);
    });

    it('says a failed read again to each caller, without an unhandled rejection meanwhile', async () => {
      const reads = sharedReads();
      const missing = path.join(project, 'no-such-file');
      await expect(reads.readText(missing)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(reads.readText(missing)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(fingerprintImage(linuxImage({ template: missing }), { templatesDir, packer, reads })).rejects.toMatchObject({ code: 'EDEFINITIONS' });
    });
  });
});
