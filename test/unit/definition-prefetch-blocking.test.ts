/**
 * A definition fetched ahead that blocks the loader's thread (an endless loop, not an await) must be the one named:
 * the settings and the definitions fetched before it arrive anyway, and the ones after it load in a fresh thread.
 * Its own file: the loader's thread is one per process, and prefetching happens only on a thread started for it.
 */
import { once } from 'node:events';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDefinitions, prefetchDefinitions } from '../../src/definition/load-definitions.ts';
import { loadSettings } from '../../src/settings/load-settings.ts';

let cwd: string;

afterAll(async () => {
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

const counting = (name: string, marker: string) =>
  `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(marker)}, 'imported\\n');\nexport default { name: '${name}' };\n`;

describe('a definition fetched ahead that blocks the thread', () => {
  it('is the one reported, and the settings and every other definition load', async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'gild-prefetch-blocking-'));
    const markers = path.join(cwd, 'markers');
    await mkdir(markers);
    await mkdir(path.join(cwd, 'images'));
    await mkdir(path.join(cwd, 'pipeline'));
    await writeFile(path.join(cwd, 'pipeline', 'settings.ts'), "export default { ssmPrefix: '/prefetched' };\n");
    await writeFile(path.join(cwd, 'images', 'a.ts'), counting('a', path.join(markers, 'a')));
    await writeFile(path.join(cwd, 'images', 'b.ts'), 'for (;;) {}\nexport default {};\n');
    await writeFile(path.join(cwd, 'images', 'c.ts'), counting('c', path.join(markers, 'c')));

    const watcher = watch(markers);
    const aImported = (async () => {
      for (;;) {
        const [, file] = (await once(watcher, 'change')) as [string, string];
        if (file === 'a') return;
      }
    })();
    prefetchDefinitions(cwd);
    // The event, not a time: a is imported ahead, so the thread goes on to b and blocks there.
    await aImported;
    watcher.close();

    expect((await loadSettings(cwd, { timeoutMs: 2_000 })).ssmPrefix).toBe('/prefetched');
    const { definitions, errors } = await loadDefinitions(cwd, 'images', { timeoutMs: 2_000 });
    expect(definitions.map((definition) => [definition.file, definition.exported])).toEqual([
      ['images/a.ts', { name: 'a' }],
      ['images/c.ts', { name: 'c' }],
    ]);
    expect(errors).toEqual([expect.stringMatching(/^images\/b\.ts: did not finish loading within 2 seconds/)]);
    for (const name of ['a', 'c']) expect(await readFile(path.join(markers, name), 'utf8')).toBe('imported\n');
  });
});
