/**
 * The definition loader's transform cache (src/definition/content-keyed-transform.js): keyed by content, not by path,
 * and never answering what the transform would not.
 */
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createJiti, type TransformOptions, type TransformResult } from 'jiti';
import { afterEach, describe, expect, it } from 'vitest';
import { contentKeyedTransform, entryPrefix } from '../../src/definition/content-keyed-transform.js';

const temporaryDirs: string[] = [];

afterEach(async () => {
  await Promise.all(temporaryDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gild-transform-cache-'));
  temporaryDirs.push(dir);
  return dir;
}

const jiti = createJiti(import.meta.url, { fsCache: false, moduleCache: false });
/** jiti's own transform, as the loader's worker calls it on a miss. */
const jitiTransform = (options: TransformOptions): TransformResult => ({ code: jiti.transform(options) });

/** The cache over jiti's transform, with the number of times the transform itself ran. */
function countingCache(cacheDir: string, settings: { maxEntries?: number; version?: string } = {}) {
  const ran: string[] = [];
  const transform = contentKeyedTransform({
    cacheDir,
    version: settings.version ?? 'jiti test',
    ...(settings.maxEntries === undefined ? {} : { maxEntries: settings.maxEntries }),
    transform: (options) => {
      ran.push(options.filename ?? '(none)');
      return jitiTransform(options);
    },
  });
  return { transform, ran };
}

/** What jiti passes a transform for a definition imported by the loader's worker. */
const definitionOptions = (source: string, filename: string): TransformOptions => ({ source, filename, ts: true, async: true, jsx: false, interopDefault: false, babel: {} });

const entries = async (cacheDir: string) => (await readdir(cacheDir).catch(() => [] as string[])).filter((name) => name.startsWith(entryPrefix)).sort();

const definition = "import { defineImage } from 'gild';\nimport type { Base } from './types.ts';\nexport default defineImage({ name: 'web', version: '1.0.0' as string });\n";

describe("jiti's transform and the file's path", () => {
  // What makes the cache safe: the output depends on the path only where a source reads import.meta's paths, whose
  // output the cache keeps for its own path only. Pinned here, so that a jiti that writes the path elsewhere fails.
  const [first, second] = ['/tmp/one/images/web.ts', '/srv/another checkout/images/web.ts'];
  const sameAtAnyPath = {
    'imports by name and type': definition,
    'relative imports': "import base from './base.ts';\nimport { x } from '../shared/x';\nexport default { base, x };\n",
    'dynamic imports': "export default async () => (await import('./later.ts')).default;\n",
    '__dirname, __filename, require': "export default { dir: __dirname, file: __filename, helper: require('./helper.cjs') };\n",
    'enums, classes, declared fields': 'enum Size { Small, Large }\nexport default class Image { declare name: string; size = Size.Large; }\n',
    'a shebang': '#!/usr/bin/env node\nexport default 1;\n',
    'import.meta.env': 'export default import.meta.env.HOME;\n',
  };
  for (const [name, source] of Object.entries(sameAtAnyPath))
    for (const async of [true, false])
      it(`writes the same code at any path: ${name} (${async ? 'import' : 'require'})`, () => {
        const at = (filename: string) => jiti.transform({ source, filename, ts: true, async, interopDefault: false });
        expect(at(first)).toBe(at(second));
      });

  for (const property of ['url', 'dirname', 'filename'])
    it(`writes the path into the code for import.meta.${property}`, () => {
      const source = `export default { value: import.meta.${property} };\n`;
      const at = (filename: string) => jiti.transform({ source, filename, ts: true, async: true, interopDefault: false });
      expect(at(first)).not.toBe(at(second));
    });
});

describe('the content-keyed transform cache', () => {
  it('answers the same definition at another path without transforming it again', async () => {
    const cacheDir = path.join(await scratch(), 'cache');
    const { transform, ran } = countingCache(cacheDir);
    const firstCode = transform(definitionOptions(definition, '/tmp/checkout-a/images/web.ts')).code;
    const secondCode = transform(definitionOptions(definition, '/home/ci/job-17/images/web.ts')).code;
    expect(ran).toEqual(['/tmp/checkout-a/images/web.ts']);
    expect(secondCode).toBe(firstCode);
    expect(secondCode).toBe(jitiTransform(definitionOptions(definition, '/home/ci/job-17/images/web.ts')).code);
    expect(await entries(cacheDir)).toHaveLength(1);
  });

  it('transforms again when the source, the extension, an option or the transformer differs', async () => {
    const cacheDir = path.join(await scratch(), 'cache');
    const { transform, ran } = countingCache(cacheDir);
    // Plain JavaScript, so that it also transforms with ts off.
    const base = definitionOptions("import { defineImage } from 'gild';\nexport default defineImage({ name: 'web' });\n", '/p/images/web.ts');
    const variants: TransformOptions[] = [
      base,
      { ...base, source: base.source.replace("'web'", "'wed'") },
      { ...base, filename: '/p/images/web.mts' },
      { ...base, filename: '/p/images/web.tsx', jsx: true },
      { ...base, async: false },
      { ...base, interopDefault: true },
      { ...base, ts: false },
      { ...base, retainLines: false },
      { ...base, babel: { sourceMaps: 'inline', sourceFileName: '/p/images/web.ts' } },
    ];
    for (const options of variants) {
      const { code } = transform(options);
      expect(code).toBe(jitiTransform(options).code);
    }
    expect(ran).toHaveLength(variants.length);
    // Each is now kept: asked again, none is transformed.
    for (const options of variants) transform(options);
    expect(ran).toHaveLength(variants.length);
    // Another transformer (jiti's version) reads none of them.
    const other = countingCache(cacheDir, { version: 'jiti other' });
    other.transform(base);
    expect(other.ran).toHaveLength(1);
  });

  it('answers code that holds its own path at that path only', async () => {
    const cacheDir = path.join(await scratch(), 'cache');
    const { transform, ran } = countingCache(cacheDir);
    const source = 'export default { url: import.meta.url, folder: import.meta.dirname };\n';
    const [first, second, third] = ['/tmp/a/images/web.ts', '/tmp/b/images/web.ts', '/tmp/c/images/web.ts'];
    expect(transform(definitionOptions(source, first)).code).toContain('"file:///tmp/a/images/web.ts"');
    expect(transform(definitionOptions(source, second)).code).toContain('"file:///tmp/b/images/web.ts"');
    // Kept for its own path (as jiti's own cache kept it): asked again there, it is not transformed.
    const again = transform(definitionOptions(source, first)).code;
    expect(again).toContain('"file:///tmp/a/images/web.ts"');
    expect(again).toContain('"/tmp/a/images"');
    expect(again).not.toContain('/tmp/b/');
    expect(transform(definitionOptions(source, third)).code).toContain('"file:///tmp/c/images/web.ts"');
    expect(ran).toEqual([first, second, third]);
    // The same for a path that comes from the source itself rather than from import.meta: kept for that path only.
    const naming = `export default ${JSON.stringify(path.dirname(first))};\n`;
    transform(definitionOptions(naming, first));
    transform(definitionOptions(naming, first));
    transform(definitionOptions(naming, second));
    expect(ran.slice(3)).toEqual([first, second]);
    expect(await entries(cacheDir)).toHaveLength(5);
  });

  it('never stores an error, nor what options that are not plain data give', async () => {
    const cacheDir = path.join(await scratch(), 'cache');
    const { transform, ran } = countingCache(cacheDir);
    const broken = definitionOptions('export default { name: "web" ;\n', '/tmp/a/images/broken.ts');
    // Without a file name the error names no path, so only its being an error keeps it out.
    const { filename: _, ...brokenNowhere } = broken;
    for (const attempt of [1, 2]) {
      expect(transform(broken).code).toContain('__JITI_ERROR__');
      expect(transform(brokenNowhere).code).toContain('__JITI_ERROR__');
      expect(ran).toHaveLength(2 * attempt);
    }
    const withPlugin = { ...definitionOptions(definition, '/tmp/a/images/web.ts'), babel: { plugins: [() => ({ visitor: {} })] } };
    transform(withPlugin);
    transform(withPlugin);
    expect(ran).toHaveLength(6);
    expect(await entries(cacheDir)).toEqual([]);
  });

  it('transforms as usual when the cache folder cannot be written', async () => {
    const blocker = path.join(await scratch(), 'a-file');
    await writeFile(blocker, 'not a folder');
    const { transform, ran } = countingCache(path.join(blocker, 'cache'));
    const options = definitionOptions(definition, '/tmp/a/images/web.ts');
    expect(transform(options).code).toBe(jitiTransform(options).code);
    expect(transform(options).code).toBe(jitiTransform(options).code);
    expect(ran).toHaveLength(2);
  });

  // NOTE: an entry runs as code: whoever can write the folder (GILD_TYPESCRIPT_CACHE naming a shared one) could run
  // theirs in every gild that reads it.
  describe('a cache folder another user could write', () => {
    /** A cache folder holding, for `definition`, code that the transform would not give. */
    async function plantedCache() {
      const cacheDir = path.join(await scratch(), 'cache');
      const planting = contentKeyedTransform({ cacheDir, version: 'jiti test', transform: () => ({ code: 'export default "planted";' }) });
      planting(definitionOptions(definition, '/tmp/a/images/web.ts'));
      // Read as it is from a folder only its owner can write (what the check is for).
      const { transform } = countingCache(cacheDir);
      expect(transform(definitionOptions(definition, '/tmp/b/images/web.ts')).code).toBe('export default "planted";');
      return cacheDir;
    }

    /** The cache reads and writes nothing there: every definition is transformed, as without a cache. */
    async function expectUnused(cacheDir: string) {
      const before = await entries(cacheDir);
      const { transform, ran } = countingCache(cacheDir);
      const options = definitionOptions(definition, '/tmp/b/images/web.ts');
      const other = definitionOptions("export default 'other';\n", '/tmp/b/images/other.ts');
      for (const attempt of [1, 2]) {
        expect(transform(options).code).toBe(jitiTransform(options).code);
        expect(transform(other).code).toBe(jitiTransform(other).code);
        expect(ran).toHaveLength(2 * attempt);
      }
      expect(await entries(cacheDir)).toEqual(before);
    }

    it('is not used when writable by its group or by others', async () => {
      for (const mode of [0o777, 0o775, 0o757]) {
        const cacheDir = await plantedCache();
        await chmod(cacheDir, mode);
        await expectUnused(cacheDir);
      }
    });

    it('is made writable by its owner only, whatever the umask, so that it is used', async () => {
      const cacheDir = path.join(await scratch(), 'made', 'cache');
      const umask = process.umask(0o002);
      try {
        countingCache(cacheDir).transform(definitionOptions(definition, '/tmp/a/images/web.ts'));
      } finally {
        process.umask(umask);
      }
      expect((await stat(cacheDir)).mode & 0o777).toBe(0o755);
      const { transform, ran } = countingCache(cacheDir);
      transform(definitionOptions(definition, '/tmp/b/images/web.ts'));
      expect(ran).toEqual([]);
    });
  });

  it('reads an entry without its end as a miss and writes it whole again', async () => {
    const cacheDir = path.join(await scratch(), 'cache');
    const { transform, ran } = countingCache(cacheDir);
    const options = definitionOptions(definition, '/tmp/a/images/web.ts');
    const expected = transform(options).code;
    const [entry] = await entries(cacheDir);
    const whole = await readFile(path.join(cacheDir, entry!), 'utf8');
    await writeFile(path.join(cacheDir, entry!), whole.slice(0, whole.length / 2));
    expect(transform(options).code).toBe(expected);
    expect(ran).toHaveLength(2);
    expect(await readFile(path.join(cacheDir, entry!), 'utf8')).toBe(whole);
    expect(await readdir(cacheDir)).toEqual([entry]);
  });

  it('keeps at most maxEntries, dropping the oldest-written', async () => {
    const cacheDir = path.join(await scratch(), 'cache');
    const { transform, ran } = countingCache(cacheDir, { maxEntries: 4 });
    const numbered = (n: number) => definitionOptions(`export default ${n};\n`, `/tmp/a/images/image-${n}.ts`);
    for (const n of [1, 2, 3, 4]) transform(numbered(n));
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const entry of await entries(cacheDir)) await utimes(path.join(cacheDir, entry), hourAgo, hourAgo);
    // A temporary file of a writer that died an hour ago goes too; a fresh one (a writer at work) stays.
    await writeFile(path.join(cacheDir, '.gild-transform-1-0-dead'), 'half');
    await utimes(path.join(cacheDir, '.gild-transform-1-0-dead'), new Date(Date.now() - 7200_000), new Date(Date.now() - 7200_000));
    await writeFile(path.join(cacheDir, '.gild-transform-2-0-busy'), 'half');
    transform(numbered(5));
    expect(await entries(cacheDir)).toHaveLength(3);
    expect((await readdir(cacheDir)).filter((name) => name.startsWith('.gild-transform-'))).toEqual(['.gild-transform-2-0-busy']);
    // The newest stays.
    transform(numbered(5));
    expect(ran).toEqual([1, 2, 3, 4, 5].map((n) => `/tmp/a/images/image-${n}.ts`));
  });

  it('answers right while threads at other paths write, read and prune the same entries at once', async () => {
    const cacheDir = path.join(await scratch(), 'cache');
    // Each thread asks for the same twelve sources (from a folder of its own) in turns, over a cache of at most eight
    // entries: entries are written, read, replaced and pruned by one thread while the others read them.
    const race = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.moduleUrl).then(({ contentKeyedTransform }) => {
        const output = (source) => source.repeat(4000);
        const transform = contentKeyedTransform({ cacheDir: workerData.cacheDir, version: 'race', maxEntries: 8, transform: (options) => ({ code: output(options.source) }) });
        const wrong = [];
        for (let round = 0; round < 25; round++)
          for (let n = 0; n < 12; n++) {
            const source = 'export default ' + n + ';\\n';
            const { code } = transform({ source, filename: '/thread-' + workerData.thread + '/images/image.ts', ts: true, async: true });
            if (code !== output(source)) wrong.push(n);
          }
        parentPort.postMessage(wrong);
      });`;
    const moduleUrl = new URL('../../src/definition/content-keyed-transform.js', import.meta.url).href;
    const threads = [1, 2, 3].map((thread) => new Worker(race, { eval: true, workerData: { cacheDir, moduleUrl, thread } }));
    const answers = await Promise.all(threads.map(async (worker) => ((await once(worker, 'message')) as [number[]])[0]));
    expect(answers).toEqual([[], [], []]);
    expect((await entries(cacheDir)).length).toBeLessThanOrEqual(8);
  });
});

describe("the definition loader's thread", () => {
  const workerUrl = new URL('../../src/definition/import-definition-worker.js', import.meta.url);

  /** Imports `file` in a loader thread of its own with `cacheDir` as its cache, as import-isolated.ts starts one. */
  async function loadInThread(file: string, cacheDir: string): Promise<unknown> {
    const worker = new Worker(workerUrl, { workerData: { cacheDir, prefetch: [file] } });
    try {
      for (;;) {
        const [message] = (await once(worker, 'message')) as [{ kind: string; outcome?: unknown }];
        if (message.kind === 'outcome') return message.outcome;
      }
    } finally {
      await worker.terminate();
    }
  }

  it('loads the same definition in another project folder from the cache the first one filled', async () => {
    const root = await scratch();
    const cacheDir = path.join(root, 'cache');
    const projects = [path.join(root, 'checkout-a'), path.join(root, 'ci-job-2')];
    for (const project of projects) {
      await mkdir(path.join(project, 'images'), { recursive: true });
      await writeFile(path.join(project, 'images', 'web.ts'), definition);
    }
    const loaded = { kind: 'loaded', value: { name: 'web', version: '1.0.0' }, problems: [] };
    expect(await loadInThread(path.join(projects[0]!, 'images', 'web.ts'), cacheDir)).toEqual(loaded);
    // Each file as it is: a store renames a new file into place, so an entry written again has another inode.
    const files = async () => Promise.all((await readdir(cacheDir)).sort().map(async (name) => `${name} ${(await stat(path.join(cacheDir, name))).ino}`));
    const filled = await files();
    expect(filled.some((file) => file.startsWith(entryPrefix))).toBe(true);
    // Nothing is transformed or written for the second folder: what it needed was all there.
    expect(await loadInThread(path.join(projects[1]!, 'images', 'web.ts'), cacheDir)).toEqual(loaded);
    expect(await files()).toEqual(filled);
  });
});
