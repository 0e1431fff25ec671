/**
 * Bad input through the CLI as users run it: `gild validate` gives every problem of the settings and the definitions
 * in one run, each naming its file and field; `gild plan` without credentials says how to give them; exit 2, no stack.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTempProject, repoRoot, type TempProject } from '../support/project.ts';

const projects: TempProject[] = [];
afterEach(async () => {
  await Promise.all(projects.splice(0).map((project) => project.remove()));
});

/** The shipped project (its settings and images) with `edit` applied to the text of some of its files. */
async function shippedProjectWith(edits: { settings?: (text: string) => string; nginx?: (text: string) => string }): Promise<TempProject> {
  const settings = await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8');
  const nginx = await readFile(path.join(repoRoot, 'images/nginx.ts'), 'utf8');
  const project = await createTempProject({ shippedImages: true, settings: (edits.settings ?? String)(settings) });
  projects.push(project);
  await project.writeImage('nginx.ts', (edits.nginx ?? String)(nginx));
  return project;
}

const replaced = (text: string, from: string, to: string) => {
  if (!text.includes(from)) throw new Error(`the shipped file no longer holds ${JSON.stringify(from)}: update the test`);
  return text.replace(from, to);
};

describe('gild validate on bad input', () => {
  it('reports a broken settings file and the definitions’ problems together, exit 2', async () => {
    const project = await shippedProjectWith({
      settings: (text) => replaced(text, '  concurrency: 2,', '  concurency: 2,'),
      nginx: (text) => replaced(text, "  instanceType: 't3.small',", "  instanceTyp: 't3.small',"),
    });
    const { exitCode, stderr, stdout } = await project.gild(['validate'], {});
    expect(stdout).toBe('');
    expect(stderr).toBe(
      [
        'gild: 1 problem in pipeline/settings.ts and 1 in the image definitions. Fix them and run `gild validate` again.',
        '  - pipeline/settings.ts: concurency: is not a known field. Did you mean concurrency? Rename it, or remove it (field reference: docs/settings.md).',
        '  - images/nginx.ts: instanceTyp: is not a known field. Did you mean instanceType? It is required and missing: rename instanceTyp to instanceType.',
      ].join('\n'),
    );
    expect(exitCode).toBe(2);
  });

  it('checks the definitions with the defaults for a settings field of the wrong type, and says so', async () => {
    const project = await shippedProjectWith({
      settings: (text) => replaced(text, '  concurrency: 2,', "  concurrency: 'two',"),
      nginx: (text) => replaced(text, "version: '2.1.0'", 'version: 1.0'),
    });
    const { exitCode, stderr } = await project.gild(['validate'], {});
    expect(stderr.split('\n')).toEqual([
      'gild: 1 problem in pipeline/settings.ts and 1 in the image definitions (checked with the default for concurrency). Fix them and run `gild validate` again.',
      '  - pipeline/settings.ts: concurrency: "two" should be number.',
      "  - images/nginx.ts: version: 1 should be string. Quote it, as in version: '1.0.0' (unquoted, 1.0 is the number 1: its trailing zero is lost).",
    ]);
    expect(exitCode).toBe(2);
  });

  it('names the line and column of a syntax error, in a definition and in the settings, beside the relative path', async () => {
    const project = await shippedProjectWith({
      settings: (text) => replaced(text, '  retention: { keep: 3 },', '  retention: { keep: 3 ,'),
      nginx: (text) => replaced(text, '  retention: { keep: 3 },', '  retention: { keep: 3 ,'),
    });
    const { exitCode, stderr } = await project.gild(['validate'], {});
    const lines = stderr.split('\n');
    expect(lines[0]).toBe(
      'gild: 1 problem in pipeline/settings.ts and 1 in the image definitions (checked with the default settings, as pipeline/settings.ts could not be read). Fix them and run `gild validate` again.',
    );
    expect(lines[1]).toMatch(/^ {2}- pipeline\/settings\.ts:\d+:\d+: could not be loaded: ParseError: [^\n]+\. Fix the file so that it compiles and runs\.$/);
    expect(lines[2]).toMatch(/^ {2}- images\/nginx\.ts:\d+:\d+: could not be loaded: ParseError: [^\n]+\. Fix the file so that it compiles and runs\.$/);
    expect(lines).toHaveLength(3);
    expect(stderr).not.toContain(project.dir);
    expect(exitCode).toBe(2);
  });
});

describe('gild plan without AWS credentials', () => {
  it('says no credentials were found and how to give them, exit 2, before anything reaches AWS', async () => {
    const project = await createTempProject({ shippedImages: true });
    projects.push(project);
    const home = path.join(project.dir, 'empty-home');
    await mkdir(home);
    // Every place the SDK looks for credentials is empty: no keys in the environment, no profile or files, no
    // instance or container role. NOTE: an undefined value leaves the variable out of the child's environment.
    const noCredentials = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      AWS_ENDPOINT_URL: undefined,
      HOME: home,
      AWS_CONFIG_FILE: path.join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
    } as unknown as Record<string, string>;
    const { exitCode, stderr } = await project.gild(['plan'], noCredentials);
    expect(stderr).toMatch(/^gild: No AWS credentials were found, so gild could not [^\n]+ \(nothing was sent to AWS\): CredentialsProviderError: [^\n]+\. Set AWS_PROFILE/m);
    expect(stderr).toContain('`aws sso login --profile <name>`');
    expect(stderr).toContain('or pass --local to run against the local emulator.');
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(exitCode).toBe(2);
  });
});
