/**
 * `gild run` and `gild plan` start importing images/*.ts in the loader's thread before the engine's modules load
 * (prefetchDefinitions); loadDefinitions then takes each file's outcome. Its own file: the loader's thread is one per
 * process, and prefetching happens only on a thread started for it.
 */
import { once } from 'node:events';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDefinitions, prefetchDefinitions } from '../../src/definition/load-definitions.ts';

let cwd: string;

afterAll(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

/** A definition that appends a line to `marker` each time it is imported. */
const counting = (name: string, marker: string) =>
  `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(marker)}, 'imported\\n');\nexport default { name: '${name}' };\n`;

describe('definitions fetched ahead', () => {
  it('are imported before they are asked for, once, and each outcome is the one asked for, a hanging file timing out as before', async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'gild-prefetch-'));
    const images = path.join(cwd, 'images');
    await mkdir(images);
    const markers = path.join(cwd, 'markers');
    await mkdir(markers);
    await writeFile(path.join(images, 'a.ts'), counting('a', path.join(markers, 'a')));
    await writeFile(path.join(images, 'b.ts'), counting('b', path.join(markers, 'b')));
    // Sorted after a and b: it never settles, so the ones after it are not fetched ahead but imported when asked.
    await writeFile(path.join(images, 'c.ts'), 'await new Promise(() => {});\nexport default {};\n');
    await writeFile(path.join(images, 'd.ts'), counting('d', path.join(markers, 'd')));

    const watcher = watch(markers);
    const bImported = (async () => {
      for (;;) {
        const [, file] = (await once(watcher, 'change')) as [string, string];
        if (file === 'b') return;
      }
    })();
    prefetchDefinitions(cwd);
    // The event, not a time: b is imported ahead, with nobody asking yet.
    await bImported;
    watcher.close();

    const { definitions, errors } = await loadDefinitions(cwd, 'images', { timeoutMs: 2_000 });
    expect(definitions.map((definition) => [definition.file, definition.exported])).toEqual([
      ['images/a.ts', { name: 'a' }],
      ['images/b.ts', { name: 'b' }],
      ['images/d.ts', { name: 'd' }],
    ]);
    expect(errors).toEqual([expect.stringMatching(/^images\/c\.ts: did not finish loading within 2 seconds/)]);
    for (const name of ['a', 'b', 'd']) expect(await readFile(path.join(markers, name), 'utf8')).toBe('imported\n');
  });
});
