/** Loading pipeline/settings.ts: what a broken settings file is reported as. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isGildError } from '../../src/errors.ts';
import { loadSettings } from '../../src/settings/load-settings.ts';

const temporaryDirs: string[] = [];
afterEach(async () => {
  await Promise.all(temporaryDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function projectWithSettings(source: string): Promise<string> {
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'gild-settings-'));
  temporaryDirs.push(cwd);
  await mkdir(path.join(cwd, 'pipeline'));
  await writeFile(path.join(cwd, 'pipeline/settings.ts'), source);
  return cwd;
}

async function settingsProblems(cwd: string): Promise<readonly string[]> {
  const error: unknown = await loadSettings(cwd).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!isGildError(error) || error.code !== 'ESETTINGS') throw new Error(`expected ESETTINGS, got ${String(error)}`);
  return error.details;
}

describe('loadSettings', () => {
  it("keeps a syntax error's line and column (the ';' after the closing brace) beside the file, relative to the project", async () => {
    const cwd = await projectWithSettings('export default {\n  ssmPrefix: "/golden",\n  retention: { keep: 3 ,\n};\n');
    const [problem, ...rest] = await settingsProblems(cwd);
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^pipeline\/settings\.ts:4:2: could not be loaded: ParseError: [^\n]+\. Fix the file so that it compiles and runs\.$/);
    expect(problem).not.toContain(cwd);
  });
});
