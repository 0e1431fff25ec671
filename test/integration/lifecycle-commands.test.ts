/**
 * The lifecycle after publish, through the real CLI on moto: the `v<major>`
 * line moves with every publish in every region, channels do not, and
 * `gild retire` retires what the policy says without building anything.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClients, imageState, parametersUnder } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';

const regions = ['us-east-1', 'us-west-2'] as const;

describe('major lines, channels and gild retire', () => {
  let moto: MotoServer;
  let project: TempProject;

  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web' }) } });
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });

  const gild = async (args: string[]) => {
    const result = await project.gild(args, { ...moto.env, GILD_SMOKE_POLL_MS: '100' });
    expect(result.stderr + result.stdout).not.toMatch(/internal error/);
    return result;
  };
  const pointers = (region: string) => parametersUnder(moto.endpoint, region, '/golden/web');

  it('moves v1 with latest on every publish, in every region, as aws:ec2:image; leaves channels alone', async () => {
    expect((await gild(['run'])).exitCode).toBe(0);
    expect((await gild(['run', '--force'])).exitCode).toBe(0);
    for (const region of regions) {
      const parameters = await pointers(region);
      expect(parameters['/golden/web/v1'], region).toBe(parameters['/golden/web/versions/1.0.1']);
      expect(parameters['/golden/web/latest'], region).toBe(parameters['/golden/web/versions/1.0.1']);
      expect(Object.keys(parameters).filter((name) => name.includes('/channels/')), region).toEqual([]);
      const { ssm } = awsClients(moto.endpoint, region);
      const v1 = await ssm.send(new GetParameterCommand({ Name: '/golden/web/v1' }));
      expect(v1.Parameter?.DataType).toBe('aws:ec2:image');
    }
  });

  it('gild retire --dry-run shows what a lowered keep retires and changes nothing; gild retire then retires it', async () => {
    const settingsFile = path.join(project.dir, 'pipeline/settings.ts');
    await writeFile(settingsFile, (await readFile(settingsFile, 'utf8')).replace('retention: { keep: 3 }', 'retention: { keep: 1 }'));
    const before = await pointers('us-west-2');
    const oldAmi = before['/golden/web/versions/1.0.0']!;
    expect(oldAmi).toMatch(/^ami-/);

    const dryRun = await gild(['retire', '--dry-run']);
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toMatch(/retire \(deregister\) 1\.0\.0 in us-west-2/);
    expect(dryRun.stdout).not.toMatch(/^\s+(build|smoke test|publish) /m);
    expect(dryRun.stdout).toContain('Dry run: nothing was changed.');
    expect(await pointers('us-west-2')).toEqual(before);

    const retired = await gild(['retire', 'web']);
    expect(retired.exitCode, retired.stdout + retired.stderr).toBe(0);
    for (const region of regions) {
      const parameters = await pointers(region);
      expect(parameters, region).not.toHaveProperty('/golden/web/versions/1.0.0');
      expect(parameters['/golden/web/latest'], region).toBe(parameters['/golden/web/versions/1.0.1']);
      expect(parameters['/golden/web/v1'], region).toBe(parameters['/golden/web/versions/1.0.1']);
    }
    expect(await imageState(moto.endpoint, 'us-west-2', oldAmi)).toBeUndefined();

    const again = await gild(['retire']);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('Nothing to retire.');
  });
});
