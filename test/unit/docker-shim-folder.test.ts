/**
 * The folder whose `docker` link goes first on Packer's PATH for a container twin (src/local/container-engine.ts) is
 * used only when it is this user's alone: the temporary folder is shared, and the folder's name is predictable.
 */
import { chmod, chown, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOwnPrivateFolder } from '../../src/local/container-engine.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'gild-shim-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('isOwnPrivateFolder', () => {
  it('accepts a folder this user made that nobody else may write to', async () => {
    await mkdir(path.join(root, 'own'), { mode: 0o700 });
    expect(await isOwnPrivateFolder(path.join(root, 'own'))).toBe(true);
  });

  it('refuses one others may write to, a link to a folder, and one that is not there', async () => {
    await mkdir(path.join(root, 'open'));
    await chmod(path.join(root, 'open'), 0o777);
    await mkdir(path.join(root, 'group'));
    await chmod(path.join(root, 'group'), 0o770);
    await mkdir(path.join(root, 'target'), { mode: 0o700 });
    await symlink(path.join(root, 'target'), path.join(root, 'link'));
    expect(await isOwnPrivateFolder(path.join(root, 'open'))).toBe(false);
    expect(await isOwnPrivateFolder(path.join(root, 'group'))).toBe(false);
    expect(await isOwnPrivateFolder(path.join(root, 'link'))).toBe(false);
    expect(await isOwnPrivateFolder(path.join(root, 'absent'))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)("refuses another user's folder, however private (run as root, which can give one away)", async () => {
    await mkdir(path.join(root, 'theirs'), { mode: 0o700 });
    await chown(path.join(root, 'theirs'), 65534, 65534);
    expect(await isOwnPrivateFolder(path.join(root, 'theirs'))).toBe(false);
  });
});
