/**
 * The generated IAM policy, proven with conditions, resources and tags for what settings and definitions add to a
 * run: distribution into another account (the assumed role under `gild iam-policy --account-role`), gild's own
 * region copies, notifications; and the simulation refusing what AWS refuses (Packer's second CreateTags when
 * snapshot_tags equal to the AMI tags are rendered again). The real CLI and real Packer 1.6.6 run against moto
 * through the recorder (test/support/iam-recorder.ts); each recorded request's resource authorizations are evaluated
 * with @cloud-copilot/iam-simulate (see iam-simulation.test.ts, which does the same for full runs of every shipped
 * image and every lifecycle command; these moved here from it so that the two run side by side).
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startIamRecorder, type IamRecorder } from '../support/iam-recorder.ts';
import { simulateRecorded } from '../support/iam-simulate-recorded.ts';
import { expectNothingDenied, gildOk, policyOf, report } from '../support/iam-simulation-harness.ts';
import { describeDenial } from '../support/iam-simulation.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot } from '../support/project.ts';
import { createInstanceProfile } from '../support/moto-iam.ts';

describe('the generated IAM policy, simulated over every request of runs with distribution accounts, region copies and notifications', () => {
  let moto: MotoServer;
  let recorder: IamRecorder;
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'gild-iam-sim-'));
    moto = await startMoto();
    recorder = await startIamRecorder(moto.endpoint);
  });
  afterAll(async () => {
    await recorder?.stop();
    await moto?.stop();
    await rm(scratch, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await moto.reset();
    recorder.reset();
  });

  /** An instance profile in the target account (moto's RunInstances wants it there), made as the role, straight on moto. */
  async function createInstanceProfileInAccount(roleArn: string, name: string): Promise<void> {
    const credentials = fromTemporaryCredentials({
      params: { RoleArn: roleArn, RoleSessionName: 'test-setup' },
      masterCredentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      clientConfig: { region: 'us-east-1', endpoint: moto.endpoint },
    });
    const { accessKeyId } = await credentials();
    await createInstanceProfile(moto.endpoint, name, accessKeyId);
  }

  it('allows every request of distribution into another account: the pipeline role under its policy, the assumed role under `gild iam-policy --account-role`', { timeout: 900_000 }, async () => {
    const target = '111111111111';
    const roleArn = `arn:aws:iam::${target}:role/gild-distribution`;
    const extra = `smoke: { checks: [{ name: 'ready', run: 'true' }] }, retention: { keep: 2 }, distribution: { accounts: [{ account: '${target}', roleArn: '${roleArn}', regions: ['us-east-1', 'us-west-2'], smoke: { instanceProfile: 'gild-smoke' } }] },`;
    const project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', extra }) } });
    try {
      await createInstanceProfileInAccount(roleArn, 'gild-smoke');
      const pipeline = await policyOf(project);
      const accountRole = await policyOf(project, ['--account-role']);
      const env = { ...recorder.env(moto.env), GILD_SMOKE_POLL_MS: '100' };
      await gildOk(project, ['run'], env);
      await gildOk(project, ['run', '--force'], env);
      // The third version retires the first, in the building account and (retire-copy) in the target account.
      await gildOk(project, ['run', '--force'], env);
      // The revoke follows in the account (its copies tagged revoked, its status/<v> written, its pointers moved off
      // them), and so does the restore (the revoke's tags deleted); then a run.
      await gildOk(project, ['revoke', 'web', '1.0.2', '--reason', 'CVE-2026-0001 in openssl'], env);
      await gildOk(project, ['restore', 'web', '1.0.2', '--reason', 'the CVE does not apply'], env);
      await gildOk(project, ['run'], env);

      const summary = await simulateRecorded(recorder.requests, recorder.assumedRoles, { pipeline, accountRole });
      const asRole = recorder.requests.filter((request) => recorder.assumedRoles.has(request.accessKeyId));
      console.info(`${report('IAM simulation of distribution.accounts', summary)}; ${asRole.length} of the requests made as ${roleArn}, evaluated under the --account-role policy`);
      expect([...new Set(asRole.map((request) => `${request.service}:${request.action}`))]).toEqual(
        expect.arrayContaining([
          'ec2:RegisterImage',
          'ec2:CreateTags',
          'ec2:RunInstances',
          'ssm:SendCommand',
          'ec2:TerminateInstances',
          'ssm:PutParameter',
          'ec2:DeregisterImage',
          'ec2:DeleteSnapshot',
          'ssm:DeleteParameter',
          'ec2:DeleteTags',
        ]),
      );
      expectNothingDenied(summary);
    } finally {
      await project.remove();
    }
  });

  it("allows every request of gild's own region copies (regionCopies: 'gild'): CopyImage tagged at creation, then tested, shared and published", { timeout: 600_000 }, async () => {
    const settings = (await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8')).replace('concurrency: 2,', "concurrency: 2,\n  regionCopies: 'gild',");
    const regions = "{ build: 'us-east-1', copies: ['us-west-2', 'eu-west-1'] }";
    const project = await createTempProject({ settings, images: { 'web.ts': imageSource({ name: 'web', regions, extra: "smoke: { checks: [{ name: 'ready', run: 'true' }] }," }) } });
    try {
      const policy = await policyOf(project);
      const env = { ...recorder.env(moto.env), GILD_SMOKE_POLL_MS: '100', GILD_COPY_POLL_MS: '100' };
      await gildOk(project, ['run'], env);
      const summary = await simulateRecorded(recorder.requests, recorder.assumedRoles, { pipeline: policy });
      console.info(report("IAM simulation of gild's own region copies", summary));
      const gildCalls = new Set(recorder.requests.filter((request) => request.sender === 'gild').map((request) => `${request.service}:${request.action}`));
      expect([...gildCalls]).toEqual(expect.arrayContaining(['ec2:CopyImage', 'ec2:CreateTags']));
      expect(recorder.requests.filter((request) => request.sender === 'packer').map((request) => request.action)).not.toContain('CopyImage');
      expectNothingDenied(summary);
    } finally {
      await project.remove();
    }
  });

  it('allows the notifications of settings notify (sns:Publish on the configured topic, events:PutEvents with gild’s source), and only with their grants', { timeout: 600_000 }, async () => {
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:golden-images';
    // The topic is the organisation's, made straight on moto (not recorded: not gild's request).
    await new SNSClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }).send(new CreateTopicCommand({ Name: 'golden-images' }));
    const settings = (await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8')).replace(
      'concurrency: 2,',
      `concurrency: 2,\n  notify: { sns: ['${topicArn}'], eventBridge: { source: 'com.example.gild' } },`,
    );
    const project = await createTempProject({ settings, images: { 'web.ts': imageSource({ name: 'web', extra: "smoke: { checks: [{ name: 'ready', run: 'true' }] }," }) } });
    try {
      const policy = await policyOf(project);
      const env = { ...recorder.env(moto.env), GILD_SMOKE_POLL_MS: '100' };
      await gildOk(project, ['run'], env);
      await gildOk(project, ['run', '--force'], env);
      await gildOk(project, ['revoke', 'web', '1.0.1', '--reason', 'CVE-2026-0001 in openssl'], env);
      const summary = await simulateRecorded(recorder.requests, recorder.assumedRoles, { pipeline: policy });
      console.info(report('IAM simulation of notifications', summary));
      const told = summary.verdicts.filter((verdict) => verdict.authorization.action === 'sns:Publish' || verdict.authorization.action === 'events:PutEvents');
      expect(told.map((verdict) => `${verdict.authorization.action} ${verdict.authorization.resource}`).sort()).toEqual([
        'events:PutEvents arn:aws:events:us-east-1:123456789012:event-bus/default',
        'events:PutEvents arn:aws:events:us-east-1:123456789012:event-bus/default',
        'events:PutEvents arn:aws:events:us-east-1:123456789012:event-bus/default',
        `sns:Publish ${topicArn}`,
        `sns:Publish ${topicArn}`,
        `sns:Publish ${topicArn}`,
      ]);
      expectNothingDenied(summary);
      // Without the notify grants (the policy of settings with no notify), the same requests are refused: the grants are what allow them.
      const without = { ...policy, Statement: policy.Statement.filter((statement) => statement.Sid !== 'NotifyTopics' && statement.Sid !== 'NotifyEventBus') };
      const refused = await simulateRecorded(
        recorder.requests.filter((request) => request.service === 'sns' || request.service === 'events'),
        recorder.assumedRoles,
        { pipeline: without },
      );
      expect(refused.denied).toHaveLength(6);
    } finally {
      await project.remove();
    }
  });

  it("fails on Packer's second CreateTags when snapshot_tags equal to the AMI tags are rendered again", { timeout: 300_000 }, async () => {
    // A `packer` ahead of the real one on PATH puts back what gild used to render: snapshot_tags equal to tags.
    const real = (await execa('sh', ['-c', 'command -v packer'])).stdout.trim();
    const shimDir = path.join(scratch, 'shim');
    await execa('mkdir', ['-p', shimDir]);
    const shim = path.join(shimDir, 'packer');
    await writeFile(
      shim,
      `#!/usr/bin/env node
const { readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
if (process.argv.includes('build')) {
  for (const file of readdirSync('.').filter((name) => name.endsWith('.pkr.hcl'))) {
    const text = readFileSync(file, 'utf8');
    const tags = /\\n(  tags\\s*=\\s*\\{[\\s\\S]*?\\n  \\})/.exec(text);
    if (tags) writeFileSync(file, text.replace(tags[1], tags[1] + '\\n  snapshot_tags = ' + tags[1].replace(/^  tags\\s*=\\s*/, '')));
  }
}
const result = spawnSync(${JSON.stringify(real)}, process.argv.slice(2), { stdio: 'inherit' });
process.exit(result.status ?? 1);
`,
    );
    await chmod(shim, 0o755);
    const project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', regions: "{ build: 'us-east-1' }" }) } });
    try {
      const policy = await policyOf(project);
      const env = { ...recorder.env(moto.env), GILD_SMOKE_POLL_MS: '100', PATH: `${shimDir}:${process.env.PATH ?? ''}` };
      // moto ignores the deny, so the run itself succeeds; the simulation is what sees AWS refuse it.
      await gildOk(project, ['run'], env);
      const snapshotTagged = recorder.requests.filter(
        (request) =>
          request.sender === 'packer' && request.action === 'CreateTags' && Object.keys(request.query).every((key) => !/^ResourceId\.\d+$/.test(key) || request.query[key]!.startsWith('snap-')),
      );
      expect(snapshotTagged.length, 'Packer tagged the snapshots a second time').toBeGreaterThan(0);

      const summary = await simulateRecorded(recorder.requests, recorder.assumedRoles, { pipeline: policy });
      console.info(report('IAM simulation with snapshot_tags rendered again', summary));
      expect(summary.denied.map(describeDenial)).toEqual([
        expect.stringMatching(/^request #\d+ ec2:CreateTags by packer in us-east-1: ec2:CreateTags on arn:aws:ec2:us-east-1::snapshot\/snap-\S+ denied by statement NeverMoveOwnership/),
      ]);
      const images = await new EC2Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }).send(
        new DescribeImagesCommand({ Owners: ['self'] }),
      );
      expect(images.Images?.length).toBe(1);
    } finally {
      await project.remove();
    }
  });
});
