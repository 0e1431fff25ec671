/**
 * The tag budget end to end on moto (which, like EC2, refuses a CreateTags that takes a resource past 50 tags): an
 * image carrying the most tags the definition allows publishes with a copy, is revoked, and restored, and no AMI or
 * snapshot ever passes 50. Before src/stages/gild-tag-keys.ts the definition allowed 38 tags, the image published
 * with 49, and `gild revoke` then failed with TagLimitExceeded on every try.
 */
import { DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxUserTags } from '../../src/definition/schema.ts';
import { awsClients, imageState, parametersUnder } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, type TempProject } from '../support/project.ts';

const tagsOf = (count: number) => ({ owner: 'o', app: 'a', environment: 'e', ...Object.fromEntries(Array.from({ length: count - 3 }, (_, index) => [`team-tag-${index}`, `value-${index}`])) });
const source = (tags: Record<string, string>) => `import { defineImage } from 'gild';
export default defineImage({
  name: 'api',
  description: 'test image api',
  version: '1.0.0',
  base: { preset: 'amazon-linux-2023' },
  instanceType: 't3.micro',
  regions: { build: 'us-east-1', copies: ['us-west-2'] },
  tags: ${JSON.stringify(tags)},
});
`;

describe(`an image with ${maxUserTags} tags (the most the definition allows)`, () => {
  let moto: MotoServer;
  let project: TempProject;
  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({ images: { 'api.ts': source(tagsOf(maxUserTags)) } });
    // A git project, so the AMIs carry gild:git-commit too.
    const { execa } = await import('execa');
    for (const args of [
      ['init', '-q'],
      ['-c', 'user.email=a@b', '-c', 'user.name=a', 'add', '.'],
      ['-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-qm', 'x'],
    ])
      await execa('git', args, { cwd: project.dir });
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });
  const gild = (args: string[]) => project.gild(args, { ...moto.env, GILD_SMOKE_POLL_MS: '100' });
  const tagCounts = async (version: string) => {
    const counts: Record<string, number> = {};
    for (const region of ['us-east-1', 'us-west-2']) {
      const ami = (await parametersUnder(moto.endpoint, region, '/golden/api'))[`/golden/api/versions/${version}`]!;
      const state = (await imageState(moto.endpoint, region, ami))!;
      counts[`${region} ${ami}`] = Object.keys(state.tags).length;
      const { ec2 } = awsClients(moto.endpoint, region);
      for (const snapshot of (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: state.snapshotIds }))).Snapshots ?? [])
        counts[`${region} ${snapshot.SnapshotId}`] = (snapshot.Tags ?? []).length;
    }
    return counts;
  };

  it('publishes, is revoked and restored, and no AMI or snapshot passes 50 tags', async () => {
    const first = await gild(['run', 'api']);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const second = await gild(['run', 'api', '--force']);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    const revoke = await gild(['revoke', 'api', '1.0.0', '--reason', 'CVE-2026-0001']);
    expect(revoke.exitCode, revoke.stdout + revoke.stderr).toBe(0);
    const restore = await gild(['restore', 'api', '1.0.0', '--reason', 'false alarm']);
    expect(restore.exitCode, restore.stdout + restore.stderr).toBe(0);
    const counts = await tagCounts('1.0.0');
    expect(Object.keys(counts).length).toBeGreaterThanOrEqual(4);
    expect(Object.entries(counts).filter(([, count]) => count > 50)).toEqual([]);
  });

  it(`refuses ${maxUserTags + 1} tags before anything is built, saying how many it may carry`, async () => {
    await project.writeImage('api.ts', source(tagsOf(maxUserTags + 1)));
    const validate = await gild(['validate']);
    expect(validate.exitCode).toBe(2);
    expect(validate.stderr + validate.stdout).toContain(`so an image can carry at most ${maxUserTags}`);
  });
});
