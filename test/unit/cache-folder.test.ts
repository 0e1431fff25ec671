/**
 * The folders whose files gild runs as code (the command line's V8 code cache, the definitions' transform cache) are
 * used only when nobody but their owner could have written them (src/bin/cache-folder.js). That a refused folder is
 * not used is shown end to end by compiled-code-cache.test.ts and definition-transform-cache.test.ts (a group- or
 * world-writable folder); here, the owner rule.
 */
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { untrustedFolder } from '../../src/bin/cache-folder.js';

const scratch: string[] = [];
afterEach(async () => {
  await Promise.all(scratch.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

async function folder(): Promise<string> {
  const made = await mkdtemp(path.join(tmpdir(), 'gild-cache-folder-'));
  scratch.push(made);
  const cache = path.join(made, 'cache');
  await mkdir(cache, { mode: 0o755 });
  await chmod(cache, 0o755);
  return cache;
}

describe('a cache folder whose files are run as code', () => {
  it("is refused when owned by another user than the process's (nor root), and used when owned by it", async () => {
    const cache = await folder();
    const me = process.getuid!();
    expect(untrustedFolder(cache)).toBeUndefined();
    // NOTE: root can give the folder to another user (the suite runs as root, .ci/run); any other user cannot, and
    // is then asked about as a third user would be: the same rule either way.
    if (me === 0) {
      await chown(cache, 65534, 65534);
      expect(untrustedFolder(cache)).toMatch(/is owned by user 65534, not by this process's user 0/);
    } else {
      expect(untrustedFolder(cache, me + 1)).toMatch(new RegExp(`is owned by user ${me}, not by this process's user ${me + 1}`));
    }
  });

  it('is refused when its group or others may write it, whoever owns it', async () => {
    const cache = await folder();
    for (const mode of [0o775, 0o757, 0o777]) {
      await chmod(cache, mode);
      expect(untrustedFolder(cache)).toMatch(/is writable by its group or by others/);
    }
  });

  it('has nothing to refuse when it does not exist yet', () => {
    expect(untrustedFolder(path.join(tmpdir(), 'gild-cache-folder-never-made', 'cache'))).toBeUndefined();
  });
});
