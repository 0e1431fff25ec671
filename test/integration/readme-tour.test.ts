/**
 * The README's five-minute tour, run as written: the commands of its `sh` block, in order, with `gild` as users get
 * it (the bundle), in a project holding the tour's own image (its `ts` block, images/web.ts), `al2023-base` it builds
 * on, and `debian-base`. `--local` commands start their own moto, as the tour says; `resolve` reads Parameter Store
 * only, so it runs against the test's moto holding the parameter it names.
 */
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, repoRoot, type TempProject } from '../support/project.ts';

/** The fenced blocks of the README's tour section, by language. */
async function tourBlocks(): Promise<{ commands: string[]; image: string }> {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const tour = readme.split(/^## /m).find((section) => section.startsWith('A five-minute tour'));
  if (tour === undefined) throw new Error('README.md has no "## A five-minute tour" section');
  const blocks = [...tour.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map(([, language, body]) => ({ language: language!, body: body! }));
  const shell = blocks.filter((block) => block.language === 'sh');
  const typescript = blocks.filter((block) => block.language === 'ts');
  if (shell.length !== 1 || typescript.length !== 1) throw new Error(`the tour should hold one sh block and one ts block, not ${shell.length} and ${typescript.length}`);
  return { commands: shell[0]!.body.split('\n').filter((line) => line.trim() !== ''), image: typescript[0]!.body };
}

let moto: MotoServer;
let project: TempProject;
let tour: { commands: string[]; image: string };

beforeAll(async () => {
  tour = await tourBlocks();
  moto = await startMoto();
  project = await createTempProject({ images: { 'web.ts': tour.image } });
  for (const image of ['al2023-base.ts', 'debian-base.ts']) await cp(path.join(repoRoot, 'images', image), path.join(project.dir, 'images', image));
  await cp(path.join(repoRoot, 'images/files'), path.join(project.dir, 'images/files'), { recursive: true });
  await cp(path.join(repoRoot, 'images/scripts'), path.join(project.dir, 'images/scripts'), { recursive: true });
});

afterAll(async () => {
  await project?.remove();
  await moto?.stop();
});

/** What each tour command must show, beyond exit 0. */
const expectations: Record<string, (stdout: string) => void> = {
  validate: (stdout) => expect(stdout).toMatch(/^3 image definitions are valid/),
  plan: (stdout) => expect(stdout).toMatch(/web/),
  run: (stdout) => expect(stdout).toMatch(/web/),
  test: (stdout) => expect(stdout).toMatch(/passed/),
  resolve: (stdout) => expect(stdout).toBe('ami-0123456789abcdef0'),
};

describe("the README's five-minute tour", () => {
  it('lists only gild commands this test knows how to check', async () => {
    expect(tour.commands.length).toBeGreaterThanOrEqual(5);
    for (const command of tour.commands) expect(Object.keys(expectations)).toContain(command.split(' ')[1]);
  });

  it('runs every command of the tour, in order, each succeeding', async () => {
    const ssm = new SSMClient({ region: 'eu-west-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await ssm.send(new PutParameterCommand({ Name: '/golden/nginx/latest', Value: 'ami-0123456789abcdef0', Type: 'String', DataType: 'aws:ec2:image', Overwrite: true }));
    ssm.destroy();
    for (const command of tour.commands) {
      const [gild, name, ...args] = command.split(' ');
      expect(gild).toBe('gild');
      // `--local` starts its own emulator; the rest talk to the test's moto.
      const env = args.includes('--local') ? { GILD_SMOKE_POLL_MS: '100' } : moto.env;
      const result = await project.gild([name!, ...args], env);
      expect(result.exitCode, `${command}\n${result.stdout}\n${result.stderr}`).toBe(0);
      expectations[name!]!(result.stdout.trim());
    }
  }, 900_000);
});
