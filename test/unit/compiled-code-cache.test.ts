/**
 * The code cache the command line is compiled with (src/bin/compiled-code-cache.js): each run is a fresh Node process
 * here, as it is for `gild`, loading a bundle of a few CommonJS files from a temporary folder. An entry serves only the
 * content it was made from (V8 itself runs cached code for any source of the same length), a bad entry is made again,
 * an accepted one is made again only when a run that succeeded compiled much more than it held, a folder another user
 * could write is not used, and the folders of other builds go once they are a day old.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/project.ts';
import { writeFsFaultPreload } from '../support/fs-fault-preload.ts';

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

/**
 * Runs the bundle's cli.cjs in a fresh process through the loader, exiting with `exitCode`; returns what main()
 * returned (awaited). `env` is main's process.env.
 */
async function run({
  generation = 'build-1',
  env = {},
  exitCode = 0,
  preload,
  command = 'run',
}: { generation?: string; env?: Record<string, string>; exitCode?: number; preload?: string; command?: string } = {}) {
  const script = `import { requireWithCodeCache } from ${JSON.stringify(loader)};
const { main } = requireWithCodeCache(${JSON.stringify(path.join(bundleDir, 'cli.cjs'))}, { bundleDir: ${JSON.stringify(bundleDir)}, cacheRoot: ${JSON.stringify(cacheRoot)}, generation: ${JSON.stringify(generation)}, command: ${JSON.stringify(command)} });
console.log(await main());
process.exitCode = ${exitCode};`;
  const result = await execa(process.execPath, [...(preload === undefined ? [] : ['--import', preload]), '--input-type=module', '-e', script], { reject: false, env, extendEnv: true });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(exitCode);
  return result.stdout;
}

/** The name of the entry of a file with `content`, on this Node. */
const entryName = (content: string) => `${createHash('sha256').update(`${process.version}\0${process.arch}\0`).update(content).digest('hex')}.v8`;

/** When each of the generation's entries was last written. */
async function writtenAt(generation = 'build-1'): Promise<Map<string, number>> {
  const folder = path.join(cacheRoot, generation);
  const names = (await readdir(folder)).filter((name) => name.endsWith('.v8'));
  return new Map(await Promise.all(names.map(async (name) => [name, (await stat(path.join(folder, name))).mtimeMs] as const)));
}

/** The generation's entries: file name → content. */
async function entries(generation = 'build-1'): Promise<Map<string, Buffer>> {
  const folder = path.join(cacheRoot, generation);
  const names = (await readdir(folder)).filter((name) => name.endsWith('.v8')).sort();
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

  it('makes an accepted entry again when a run that exits with 0 compiled a tenth more than it holds, and only then', async () => {
    // `extra` is compiled when it is first called (V8 compiles functions lazily), so an entry made by a run that never
    // called it lacks its code.
    const statements = Array.from({ length: 300 }, (_, index) => `  total += (total * ${index + 1}) % 7 === 3 ? ${index} : 1;`).join('\n');
    await writeFile(path.join(bundleDir, 'dep.cjs'), `exports.value = "first";\nexports.extra = function extra() {\n  let total = 0;\n${statements}\n  return String(total > 0);\n};\n`);
    await writeFile(path.join(bundleDir, 'cli.cjs'), 'const dep = require("./dep.cjs");\nexports.main = () => (process.env.EXTRA ? dep.extra() : dep.value);\n');
    expect(await run()).toBe('first');
    const first = await entries();
    const firstTimes = await writtenAt();

    // A failed run leaves accepted entries as they are, whatever it compiled.
    expect(await run({ env: { EXTRA: '1' }, exitCode: 1 })).toBe('true');
    expect(await entries()).toEqual(first);
    expect(await writtenAt()).toEqual(firstTimes);

    // A run that succeeds and compiled more makes the entry again, with what it compiled.
    expect(await run({ env: { EXTRA: '1' } })).toBe('true');
    const grown = await entries();
    expect([...grown.keys()]).toEqual([...first.keys()]);
    const sizes = [...grown].map(([name, data]) => data.length / first.get(name)!.length);
    // dep.cjs's entry grew by far more than a tenth; cli.cjs compiled nothing more, and is not written again.
    expect(sizes.filter((ratio) => ratio > 1.5)).toHaveLength(1);
    expect(sizes.filter((ratio) => ratio === 1)).toHaveLength(1);
    const grownTimes = await writtenAt();
    expect([...grownTimes].filter(([name, time]) => time !== firstTimes.get(name))).toHaveLength(1);

    // The same again compiles nothing the entries lack: nothing is written.
    expect(await run({ env: { EXTRA: '1' } })).toBe('true');
    expect(await writtenAt()).toEqual(grownTimes);
  });

  it('settles an entry that three clean runs of a command in a row found not grown: no later run of it checks it, whatever it compiled; another command still does', async () => {
    // Two functions compiled only when first called: each makes dep.cjs's entry grow by far more than a tenth.
    const body = (seed: number) => Array.from({ length: 300 }, (_, index) => `  total += (total * ${index + seed}) % 7 === 3 ? ${index} : 1;`).join('\n');
    await writeFile(
      path.join(bundleDir, 'dep.cjs'),
      `exports.value = "first";\nexports.extra = function extra() {\n  let total = 0;\n${body(1)}\n  return String(total > 0);\n};\nexports.more = function more() {\n  let total = 0;\n${body(2)}\n  return total > 0 ? "more" : "none";\n};\n`,
    );
    await writeFile(path.join(bundleDir, 'cli.cjs'), 'const dep = require("./dep.cjs");\nexports.main = () => (process.env.MORE ? dep.more() : process.env.EXTRA ? dep.extra() : dep.value);\n');
    const checks = async () => Object.values(JSON.parse(await readFile(path.join(cacheRoot, 'build-1', 'settled.json'), 'utf8')) as Record<string, number>).sort();
    expect(await run()).toBe('first');
    expect(await run()).toBe('first');
    expect(await checks()).toEqual([1, 1]);
    // A failed run counts nothing.
    expect(await run({ exitCode: 1 })).toBe('first');
    expect(await checks()).toEqual([1, 1]);
    // A clean run that grows an entry makes it again and starts its count again.
    const beforeGrowth = await writtenAt();
    expect(await run({ env: { EXTRA: '1' } })).toBe('true');
    expect([...(await writtenAt())].filter(([name, time]) => time !== beforeGrowth.get(name))).toHaveLength(1);
    expect(await checks()).toEqual([0, 2]);
    for (let round = 0; round < 3; round++) expect(await run({ env: { EXTRA: '1' } })).toBe('true');
    expect(await checks()).toEqual([3, 3]);
    // Settled: a run that compiles what would make dep.cjs's entry grow leaves every entry and count as it was.
    const settled = await entries();
    expect(await run({ env: { MORE: '1' } })).toBe('more');
    expect(await entries()).toEqual(settled);
    expect(await checks()).toEqual([3, 3]);
    // Settled for `run` only: another command that compiles more makes dep.cjs's entry again, and counts for itself.
    const beforeOther = await writtenAt();
    expect(await run({ env: { MORE: '1' }, command: 'validate' })).toBe('more');
    expect([...(await writtenAt())].filter(([name, time]) => time !== beforeOther.get(name))).toHaveLength(1);
    // (its cli.cjs found not grown once; dep.cjs's made again, with no count of its own to start again)
    expect(await checks()).toEqual([1, 3, 3]);
  });

  // NOTE: Node 20's V8 drops the loader from code compiled from cached data: the second run threw
  // ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING when such a file was cached. Such a file is compiled from its source.
  it('gives the code a loader for import(): a file that imports a node: built-in does so on every run', async () => {
    await writeFile(
      path.join(bundleDir, 'dep.cjs'),
      'exports.load = async () => { const { sep } = await import("node:path"); const { EOL } = await import("node:os"); return `${sep} ${JSON.stringify(EOL)}`; };\n',
    );
    // Besides a file that names import() in comments only, which is cached as any other.
    await writeFile(
      path.join(bundleDir, 'cli.cjs'),
      '/** @typedef { import("./dep.cjs").Load } Load */\n// each part is `import()`ed when it runs\nconst dep = require("./dep.cjs");\nexports.main = () => dep.load();\n',
    );
    for (const attempt of [1, 2, 3]) {
      expect(await run()).toBe('/ "\\n"');
      expect([...(await entries()).keys()], `run ${attempt}`).toEqual([entryName(await readFile(path.join(bundleDir, 'cli.cjs'), 'utf8'))]);
    }
  });

  describe('a cache folder another user could write', () => {
    // V8 runs cached code made from any source of the same length: whoever can write an entry runs their code.
    const real = 'exports.value = "first";\n';
    const planted = 'exports.value = "EVIL!";\n';

    /** Puts code V8 made from `planted` under the name of `real`'s entry, as someone writing the folder could. */
    async function plantEntry() {
      expect(planted.length).toBe(real.length);
      await writeFile(path.join(bundleDir, 'dep.cjs'), planted);
      expect(await run()).toBe('EVIL! outside');
      await writeFile(path.join(bundleDir, 'dep.cjs'), real);
      await rename(path.join(cacheRoot, 'build-1', entryName(planted)), path.join(cacheRoot, 'build-1', entryName(real)));
      return entryName(real);
    }

    it('runs the planted code from a folder only its owner can write (what the check is for)', async () => {
      await plantEntry();
      expect(await run()).toBe('EVIL! outside');
    });

    it('is not used when the folder is writable by its group or by others: the files run as they are, nothing is written', async () => {
      const realEntry = await plantEntry();
      for (const [folder, mode] of [
        [path.join(cacheRoot, 'build-1'), 0o777],
        [cacheRoot, 0o775],
      ] as const) {
        await chmod(folder, mode);
        const planted = await readFile(path.join(cacheRoot, 'build-1', realEntry));
        const times = await writtenAt();
        expect(await run()).toBe('first outside');
        expect(await readFile(path.join(cacheRoot, 'build-1', realEntry))).toEqual(planted);
        expect(await writtenAt()).toEqual(times);
        await chmod(folder, 0o755);
      }
    });
  });

  // A folder that exists but cannot be written (another user's, a read-only mount): every file's code was made and
  // its write failed, on every run.
  it.each(['EACCES', 'EROFS', 'EPERM'])('stops writing entries at the first %s, and writes the others after any other error', async (code) => {
    const attempts = path.join(scratch, 'attempts.log');
    // Fault injection: every write of an entry's temporary file fails with `code`, and is logged.
    const failWrites = await writeFsFaultPreload(
      path.join(scratch, 'fail-writes.mjs'),
      'writeFileSync',
      `  if (!String(file).endsWith('.partial')) return original(file, ...rest);
  fs.appendFileSync(${JSON.stringify(attempts)}, file + '\\n');
  throw Object.assign(new Error('injected'), { code: process.env.FAIL_CODE });`,
    );
    const attempted = async () => (await readFile(attempts, 'utf8')).split('\n').filter(Boolean);
    await writeFile(attempts, '');
    expect(await run({ env: { FAIL_CODE: code }, preload: failWrites })).toBe('first outside');
    // Two files to write (cli.cjs, dep.cjs): one attempt, and no temporary file left behind.
    expect(await attempted()).toHaveLength(1);
    expect(await readdir(path.join(cacheRoot, 'build-1'))).toEqual([]);
    // An error about one file (here a name too long) is not the folder's: the next file is tried.
    await writeFile(attempts, '');
    expect(await run({ env: { FAIL_CODE: 'ENAMETOOLONG' }, preload: failWrites })).toBe('first outside');
    expect(await attempted()).toHaveLength(2);
    // The temporary names carry random bytes besides the process id: no two processes write the same file.
    const [name] = await attempted();
    expect(path.basename(name!)).toMatch(/^[0-9a-f]{64}\.v8\.\d+-[0-9a-f]{12}\.partial$/);
  });

  it("removes other builds' folders once their last entry is a day old, when a new build makes its first entries", async () => {
    const dayAgo = (Date.now() - 25 * 3600_000) / 1000;
    await mkdir(path.join(cacheRoot, 'old-build'), { recursive: true });
    await writeFile(path.join(cacheRoot, 'old-build', 'entry.v8'), 'old');
    await utimes(path.join(cacheRoot, 'old-build'), dayAgo, dayAgo);
    await mkdir(path.join(cacheRoot, 'recent-build'), { recursive: true });
    expect(await run({ generation: 'build-2' })).toBe('first outside');
    expect((await readdir(cacheRoot)).sort()).toEqual(['build-2', 'recent-build']);
  });
});
