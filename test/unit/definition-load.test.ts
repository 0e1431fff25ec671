import { cp, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { warmDefinitionLoader } from '../../src/definition/import-isolated.ts';
import { loadDefinitions } from '../../src/definition/load-definitions.ts';
import { loadAndValidateDefinitions } from '../../src/definition/validate-definitions.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { projectDir } from '../fixtures/definitions/validate-one.ts';

const brokenDir = fileURLToPath(new URL('../fixtures/definitions/broken/', import.meta.url));
const settings = pipelineSettingsSchema.parse({});
const temporaryDirs: string[] = [];

afterEach(async () => {
  await Promise.all(temporaryDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The broken fixtures are stored as `.ts.txt` so that `tsc` does not compile them; copy them in as `.ts`. */
async function brokenProject(): Promise<string> {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'gild-definitions-'));
  temporaryDirs.push(cwd);
  await cp(brokenDir, path.join(cwd, 'images'), { recursive: true });
  for (const entry of await readdir(path.join(cwd, 'images'))) {
    await rename(path.join(cwd, 'images', entry), path.join(cwd, 'images', entry.replace(/\.txt$/, '')));
  }
  return cwd;
}

describe('loading and validating a folder of definitions', () => {
  // First in the file: the loader's thread is one per process, and this test starts it ahead of the first import.
  it('loads through a loader thread warmed before the first import, as `gild run` starts it beside the engine', async () => {
    warmDefinitionLoader();
    warmDefinitionLoader();
    const { errors, images } = await loadAndValidateDefinitions(projectDir, settings);
    expect(errors).toEqual([]);
    expect(images.map((image) => image.name).sort()).toEqual(['base', 'web']);
  });

  it('reports every problem in every file at once', async () => {
    const cwd = await brokenProject();
    const { errors, images } = await loadAndValidateDefinitions(cwd, settings);
    const expected = [
      /^images\/syntax-error\.ts:6:1: could not be loaded: .+\. Fix the file so that it compiles and runs\.$/,
      /^images\/no-default\.ts: has no default export\. End the file with `export default defineImage\(\{ \.\.\. \}\)`\.$/,
      /^images\/second\.ts: name: "dup" is already used by images\/first\.ts\./,
      /^images\/second\.ts: instanceType: "t4g\.micro" is an arm64 instance type, but the image is x86_64\./,
      /^images\/bad-shape\.ts: version: "1\.0" must be a semantic version/,
      /^images\/bad-shape\.ts: base: give exactly one of ssmParameter, filter, ami, image, preset; found ssmParameter and ami\.$/,
      /^images\/bad-shape\.ts: launchPermissions\.accounts\[1\]: "12345" is not a 12-digit AWS account ID\. Use the account's 12-digit ID\.$/,
      /^images\/bad-rules\.ts: provision\[0\]\.shell: runs bash, which Windows images do not have\. Use \{ powershell: \[\.\.\.\] \} instead\.$/,
      /^images\/bad-rules\.ts: provision\[1\]\.script: runs bash/,
      /^images\/bad-rules\.ts: provision\[1\]\.script: "missing\.sh" does not exist/,
    ];
    for (const pattern of expected)
      expect(
        errors.some((error) => pattern.test(error)),
        `${pattern} in\n${errors.join('\n')}`,
      ).toBe(true);
    expect(errors).toHaveLength(expected.length);
    expect(images.map((image) => image.name).sort()).toEqual(['bad-rules', 'dup', 'dup']);
  });

  it('loads a valid project with no errors and records the dependency on the base image', async () => {
    const { errors, warnings, images } = await loadAndValidateDefinitions(projectDir, settings);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    const web = images.find((image) => image.name === 'web')!;
    expect(web.dependsOn).toEqual(['base']);
    expect(web.base).toEqual({ kind: 'image', image: 'base', range: '^1' });
    expect(web.provision[0]).toMatchObject({ kind: 'upload', source: path.join(projectDir, 'images', 'files', 'nginx.conf') });
  });

  it('reports a missing images folder as one problem', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'gild-definitions-'));
    temporaryDirs.push(cwd);
    const { errors } = await loadAndValidateDefinitions(cwd, settings);
    expect(errors).toEqual(['images/: the folder does not exist. Create it and add one image definition per file (see the README).']);
  });

  it("gives every definition, and each file it imports, gild's identity functions however it imports 'gild'", async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'gild-definitions-'));
    temporaryDirs.push(cwd);
    await mkdir(path.join(cwd, 'images', 'lib'), { recursive: true });
    await writeFile(
      path.join(cwd, 'images', 'lib', 'shared.ts'),
      "import { defineImage } from 'gild';\nexport const named = (name: string) => defineImage({ name, description: `shared ${name}` });\n",
    );
    const imports = (name: string) => `import everything, { defineImage } from 'gild';
import * as gild from 'gild';
import { named } from './lib/shared.ts';
export default defineImage({
  ...named('${name}'),
  namespace: Object.keys(gild).sort(),
  defaultImport: typeof everything,
  same: gild.defineSettings({ tag: '${name}' }),
});
`;
    // Two files, so that the second is given 'gild' after the first was loaded.
    await writeFile(path.join(cwd, 'images', 'a.ts'), imports('a'));
    await writeFile(path.join(cwd, 'images', 'b.ts'), imports('b'));
    const { definitions, errors } = await loadDefinitions(cwd);
    expect(errors).toEqual([]);
    expect(definitions.map((definition) => definition.exported)).toEqual(
      ['a', 'b'].map((name) => ({ name, description: `shared ${name}`, namespace: ['defineImage', 'defineSettings'], defaultImport: 'undefined', same: { tag: name } })),
    );
  });
});
