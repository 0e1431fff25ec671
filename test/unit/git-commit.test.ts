/**
 * The commit images are built from (the gild:git-commit tag): HEAD, marked
 * `-dirty` when what goes into an image has changes, and nothing outside a
 * checkout. Its two git questions are asked together.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { gitCommit } from '../../src/adapters/git.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gild-git-'));
  dirs.push(dir);
  return dir;
}

describe('gitCommit', () => {
  it('is undefined outside a checkout', async () => {
    expect(await gitCommit(await tempDir())).toBeUndefined();
  });

  it('is HEAD in a clean checkout, and HEAD-dirty once an image definition changes', async () => {
    const dir = await tempDir();
    const git = (...args: string[]) => execa('git', ['-c', 'user.name=gild', '-c', 'user.email=gild@example.com', ...args], { cwd: dir });
    await git('init', '-q');
    await mkdir(path.join(dir, 'images'));
    await writeFile(path.join(dir, 'images', 'web.ts'), 'export default {};\n');
    await git('add', '.');
    await git('commit', '-q', '-m', 'first');
    const head = (await git('rev-parse', 'HEAD')).stdout.trim();

    expect(await gitCommit(dir)).toBe(head);
    await writeFile(path.join(dir, 'images', 'web.ts'), 'export default { changed: true };\n');
    expect(await gitCommit(dir)).toBe(`${head}-dirty`);
  });
});
