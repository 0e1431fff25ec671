/**
 * The entry point refuses a bundle built from other sources than src/ holds (src/bin/engine-bundle.js), by a digest of
 * their content. That digest is remembered between starts with every file's and folder's identity: whatever changes
 * the content (an edit that keeps the size and the modification time, a file added or removed, the installed
 * dependencies) is read again, and only an untouched tree answers what was remembered.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rememberedSourceDigest, sourceDigest } from '../../src/bin/engine-bundle.js';

const aTime = new Date('2026-01-01T00:00:00.000Z');
let root: string;
let cacheDir: string;

/** Waits until the clock has passed every change in the tree: with no racy margin, the tree can then be remembered. */
async function clockPastChanges(): Promise<void> {
  const files = ['src', 'src/a.ts', 'src/nested', 'src/nested/b.ts'].map((name) => path.join(root, name));
  const newest = Math.max(...(await Promise.all(files.filter(existsSync).map(async (file) => (await stat(file)).ctimeMs))));
  while (Date.now() <= newest + 1) await new Promise((resolve) => setImmediate(resolve));
}

/** With no racy margin: a file is racy only if changed after the digest was made. */
const remembered = () => rememberedSourceDigest(root, cacheDir, 0);

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'gild-source-digest-'));
  cacheDir = path.join(root, 'node_modules', '.cache', 'gild-source-digest');
  await mkdir(path.join(root, 'src', 'nested'), { recursive: true });
  await writeFile(path.join(root, 'src', 'a.ts'), 'export const a = 1;\n');
  await writeFile(path.join(root, 'src', 'nested', 'b.ts'), 'export const b = 2;\n');
  // A whole second, which utimes can set again exactly (a Date from stat would lose the nanoseconds).
  await utimes(path.join(root, 'src', 'a.ts'), aTime, aTime);
  await clockPastChanges();
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('rememberedSourceDigest', () => {
  it('makes the digest sourceDigest makes, then answers it from memory while nothing changes', async () => {
    const first = remembered();
    expect(first).toEqual({ digest: sourceDigest(root), remembered: false });
    await clockPastChanges();
    expect(remembered()).toEqual({ digest: first.digest, remembered: true });
    expect(remembered()).toEqual({ digest: first.digest, remembered: true });
  });

  it('remembers nothing with GILD_NO_DIGEST_MEMO set (file systems whose change time cannot be trusted)', async () => {
    const first = remembered();
    await clockPastChanges();
    process.env.GILD_NO_DIGEST_MEMO = '1';
    try {
      expect(remembered()).toEqual({ digest: first.digest, remembered: false });
    } finally {
      delete process.env.GILD_NO_DIGEST_MEMO;
    }
    expect(remembered()).toEqual({ digest: first.digest, remembered: true });
  });

  it('reads again a file edited with its size and modification time kept', async () => {
    const first = remembered();
    const file = path.join(root, 'src', 'a.ts');
    const before = await stat(file, { bigint: true });
    await writeFile(file, 'export const a = 9;\n');
    await utimes(file, aTime, aTime);
    const after = await stat(file, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    const edited = remembered();
    expect(edited).toEqual({ digest: sourceDigest(root), remembered: false });
    expect(edited.digest).not.toBe(first.digest);
  });

  it('reads again a tree with a file added or removed in a folder below src/', async () => {
    const first = remembered();
    await writeFile(path.join(root, 'src', 'nested', 'c.ts'), 'export const c = 3;\n');
    const added = remembered();
    expect(added).toEqual({ digest: sourceDigest(root), remembered: false });
    expect(added.digest).not.toBe(first.digest);
    await clockPastChanges();
    await unlink(path.join(root, 'src', 'nested', 'c.ts'));
    expect(remembered()).toEqual({ digest: first.digest, remembered: false });
  });

  it('reads again when the installed dependencies are recorded anew', async () => {
    const first = remembered();
    await clockPastChanges();
    await writeFile(path.join(root, 'node_modules', '.package-lock.json'), '{"packages":{}}\n');
    const installed = remembered();
    expect(installed).toEqual({ digest: sourceDigest(root), remembered: false });
    expect(installed.digest).not.toBe(first.digest);
  });

  it('does not trust files changed within the racy margin before the digest was made', async () => {
    rememberedSourceDigest(root, cacheDir, 60_000);
    expect(rememberedSourceDigest(root, cacheDir, 60_000).remembered).toBe(false);
  });

  it('neither reads nor writes a cache folder another user could write', async () => {
    await mkdir(cacheDir, { recursive: true });
    await chmod(cacheDir, 0o777);
    const memo = path.join(cacheDir, 'digest.json');
    expect(remembered()).toEqual({ digest: sourceDigest(root), remembered: false });
    expect(existsSync(memo)).toBe(false);
    // A memo someone else put there is not believed either.
    await writeFile(memo, JSON.stringify({ root, madeAtMs: Date.now() + 3_600_000, installed: false, folders: [], files: [], digest: 'forged' }));
    expect(remembered().digest).toBe(sourceDigest(root));
    expect(JSON.parse(await readFile(memo, 'utf8')).digest).toBe('forged');
  });
});
