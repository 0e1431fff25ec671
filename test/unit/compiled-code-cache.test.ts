/**
 * The code cache the command line is compiled with (src/bin/compiled-code-cache.js): each run is a fresh Node process
 * here, as it is for `gild`, loading a bundle of a few CommonJS files from a temporary folder. An entry serves only the
 * content it was made from (V8 itself runs cached code for any source of the same length), a bad entry is made again,
 * an accepted one is left alone, and the folders of other builds go once they are a day old.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/project.ts';

const loader = path.join(repoRoot, 'src/bin/compiled-code-cache.js');
let scratch: string;
let bundleDir: string;
let cacheRoot: string;

beforeEach(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'gild-code-cache-'));
  bundleDir = path.join(scratch, 'bundle');
  cacheRoot = path.join(scratch, 'cache');
  await mkdir(bundleDir);
  await mkdir(path.join(scratch, 'outside'));
  await writeFile(path.join(bundleDir, 'cli.cjs'), 'const dep = require("./dep.cjs");\nconst outside = require("../outside/plain.cjs");\nexports.main = () => `${dep.value} ${outside.value}`;\n');
  await writeFile(path.join(bundleDir, 'dep.cjs'), 'exports.value = "first";\n');
  await writeFile(path.join(scratch, 'outside/plain.cjs'), 'exports.value = "outside";\n');
});

afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Runs the bundle's cli.cjs in a fresh process through the loader; returns what main() returned. */
async function run(generation = 'build-1') {
  const script = `import { requireWithCodeCache } from ${JSON.stringify(loader)};
const { main } = requireWithCodeCache(${JSON.stringify(path.join(bundleDir, 'cli.cjs'))}, { bundleDir: ${JSON.stringify(bundleDir)}, cacheRoot: ${JSON.stringify(cacheRoot)}, generation: ${JSON.stringify(generation)} });
console.log(main());`;
  const result = await execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

/** The generation's entries: file name → content. */
async function entries(generation = 'build-1'): Promise<Map<string, Buffer>> {
  const folder = path.join(cacheRoot, generation);
  const names = (await readdir(folder)).sort();
  return new Map(await Promise.all(names.map(async (name) => [name, await readFile(path.join(folder, name))] as const)));
}

describe('the command line code cache', () => {
  it('makes an entry for each file of the bundle at exit, none for files outside it, and uses them unchanged next time', async () => {
    expect(await run()).toBe('first outside');
    const made = await entries();
    expect(made.size).toBe(2);
    for (const [name, data] of made) {
      expect(name).toMatch(/^[0-9a-f]{64}\.v8$/);
      expect(data.length).toBeGreaterThan(0);
    }
    const times = await Promise.all([...made.keys()].map(async (name) => (await stat(path.join(cacheRoot, 'build-1', name))).mtimeMs));

    expect(await run()).toBe('first outside');
    // Accepted entries are not made again: same names, same bytes, not rewritten.
    expect(await entries()).toEqual(made);
    expect(await Promise.all([...made.keys()].map(async (name) => (await stat(path.join(cacheRoot, 'build-1', name))).mtimeMs))).toEqual(times);
  });

  it('runs an edited file as it is now, also when the edit keeps its length (which V8 alone would not notice)', async () => {
    expect(await run()).toBe('first outside');
    await writeFile(path.join(bundleDir, 'dep.cjs'), 'exports.value = "other";\n');
    expect(await run()).toBe('other outside');
    // The edited content has an entry of its own beside the first one.
    expect((await entries()).size).toBe(3);
  });

  it('compiles from the source when an entry is not V8 code cache, and makes the entry again', async () => {
    expect(await run()).toBe('first outside');
    const [broken] = [...(await entries()).keys()];
    await writeFile(path.join(cacheRoot, 'build-1', broken!), 'not a code cache');
    expect(await run()).toBe('first outside');
    expect((await entries()).get(broken!)?.toString()).not.toBe('not a code cache');
  });

  it("keeps the file's name in the stack of what it throws", async () => {
    await writeFile(path.join(bundleDir, 'dep.cjs'), 'exports.value = "first";\nthrow new Error("from dep");\n');
    const script = `import { requireWithCodeCache } from ${JSON.stringify(loader)};
try { requireWithCodeCache(${JSON.stringify(path.join(bundleDir, 'cli.cjs'))}, { bundleDir: ${JSON.stringify(bundleDir)}, cacheRoot: ${JSON.stringify(cacheRoot)}, generation: 'build-1' }); } catch (error) { console.log(error.stack); }`;
    const result = await execa(process.execPath, ['--input-type=module', '-e', script]);
    expect(result.stdout).toContain('Error: from dep');
    expect(result.stdout).toContain(`${path.join(bundleDir, 'dep.cjs')}:2`);
  });

  it("removes other builds' folders once their last entry is a day old, when a new build makes its first entries", async () => {
    const dayAgo = (Date.now() - 25 * 3600_000) / 1000;
    await mkdir(path.join(cacheRoot, 'old-build'), { recursive: true });
    await writeFile(path.join(cacheRoot, 'old-build', 'entry.v8'), 'old');
    await utimes(path.join(cacheRoot, 'old-build'), dayAgo, dayAgo);
    await mkdir(path.join(cacheRoot, 'recent-build'), { recursive: true });
    expect(await run('build-2')).toBe('first outside');
    expect((await readdir(cacheRoot)).sort()).toEqual(['build-2', 'recent-build']);
  });
});
