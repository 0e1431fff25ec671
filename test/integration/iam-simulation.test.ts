/**
 * The generated IAM policy, proven with conditions, resources and tags: the
 * real CLI and real Packer 1.6.6 run full runs and every lifecycle command
 * against moto through a recorder (test/support/iam-recorder.ts) that keeps
 * each request with the tags of the resources it names as they were at that
 * moment; each request's resource authorizations, per AWS's Service
 * Authorization Reference, are then evaluated against `gild iam-policy` with
 * @cloud-copilot/iam-simulate. Any denied authorization fails, naming the
 * request, who sent it and the statement.
 *
 * The full runs of every shipped image are also moto's own action-level IAM
 * check (what iam-enforcement.test.ts did with two more full runs of its own):
 * both run as a user holding the policy widened to what moto can check (each
 * Allow on `*`, no conditions, no Denies), with moto's IAM enforcement on, so
 * one recording feeds both the enforcement and the simulation. moto ignores
 * conditions, resources and denies; iam-enforcement.test.ts keeps the denied
 * cases. What neither can prove is listed in docs/iam.md ("IAM: what is proven offline").
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeImagesCommand, EC2Client, ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { parametersUnder } from '../support/aws-state.ts';
import { createInstanceProfile, createUserWithPolicy, enforceIam } from '../support/moto-iam.ts';
import { widenForEmulator } from '../support/widen-for-emulator.ts';
import { startIamRecorder, type IamRecorder } from '../support/iam-recorder.ts';
import { simulateRecorded } from '../support/iam-simulate-recorded.ts';
import { describeDenial, type SimulationSummary } from '../support/iam-simulation.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot, type TempProject } from '../support/project.ts';

/** The shipped settings keeping one version, so that the second run retires the first (nginx keeps 3 by its own definition). */
async function settingsKeepingOne(): Promise<string> {
  const shipped = await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8');
  const changed = shipped.replace(/retention: \{ keep: \d+ \}/, 'retention: { keep: 1 }');
  if (changed === shipped) throw new Error('pipeline/settings.ts no longer sets retention.keep as this test expects');
  return changed;
}

function report(label: string, summary: SimulationSummary): string {
  const bySender = (sender: string) => new Set(summary.verdicts.filter((verdict) => verdict.authorization.request.sender === sender).map((verdict) => verdict.authorization.request.seq)).size;
  const awsOwned = summary.verdicts.filter((verdict) => verdict.awsOwnedResource).length;
  return `${label}: ${summary.requests} requests (gild ${bySender('gild')}, Packer ${bySender('packer')}), ${summary.authorizations} resource authorizations evaluated (${awsOwned} on AWS-owned documents and parameters), ${summary.denied.length} denied`;
}

const allowedActions = (policy: PolicyDocument) => new Set(policy.Statement.filter((statement) => statement.Effect === 'Allow').flatMap((statement) => statement.Action));

/** An administrator for the recorder's own tag reads while moto enforces IAM (they are not gild's requests). */
const everything: PolicyDocument = { Version: '2012-10-17', Statement: [{ Sid: 'RecorderReads', Effect: 'Allow', Action: ['*'], Resource: ['*'] }] };

function expectNothingDenied(summary: SimulationSummary): void {
  expect(summary.denied.map(describeDenial)).toEqual([]);
  // A context key the simulator drops (not listed for the action and resource) would leave a condition reading nothing.
  expect(
    summary.verdicts
      .filter((verdict) => verdict.ignoredContextKeys.length > 0)
      .map((verdict) => `request #${verdict.authorization.request.seq} ${verdict.authorization.action} on ${verdict.authorization.resource}: ignored ${verdict.ignoredContextKeys.join(', ')}`),
  ).toEqual([]);
}

describe('the generated IAM policy, simulated over every request of full runs and lifecycle commands', () => {
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
    const response = await fetch(moto.endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=setup`,
      },
      body: new URLSearchParams({ Action: 'CreateInstanceProfile', Version: '2010-05-08', InstanceProfileName: name }),
    });
    if (!response.ok) throw new Error(`moto IAM CreateInstanceProfile answered ${response.status}: ${await response.text()}`);
  }

  async function policyOf(project: TempProject, args: string[] = []): Promise<PolicyDocument> {
    const printed = await project.gild(['iam-policy', '--json', ...args], {});
    expect(printed.exitCode, printed.stderr).toBe(0);
    return JSON.parse(printed.stdout) as PolicyDocument;
  }

  async function gildOk(project: TempProject, args: string[], env: Record<string, string>, exitCodes: readonly number[] = [0]): Promise<string> {
    const result = await project.gild(args, env);
    const output = result.stdout + result.stderr;
    expect(output, `gild ${args.join(' ')}`).not.toMatch(/AccessDenied|not authorized|internal error|\n\s+at /);
    expect(exitCodes, `gild ${args.join(' ')} exited ${result.exitCode}:\n${output}`).toContain(result.exitCode);
    return output;
  }

  it(
    "allows every request gild and Packer 1.6.6 make in full runs of every shipped image (which also pass moto's IAM enforcement as a user holding only the policy's actions, and retire) and in promote, rollback, release, revoke, restore, revoke --cascade, retire, status, history, verify --repair and unlock",
    { timeout: 900_000 },
    async () => {
      const project = await createTempProject({ shippedImages: true, settings: await settingsKeepingOne() });
      try {
        const policy = await policyOf(project);
        // NOTE: the SSM stand-in runs debian-base's checks in its container twin (moto alone answers every command with
        // empty output, which that image's checks refuse); its Run Command requests still reach moto through the recorder.
        const env = { ...recorder.env(moto.env), GILD_SMOKE_POLL_MS: '100', GILD_SSM_STAND_IN: '1' };

        // The two full runs (the second retires the first: retention keeps one) also run under moto's IAM enforcement, as
        // a user holding only the policy widened to what moto checks; the user and the smoke profile are made while checks are off.
        const pipelineUser = await createUserWithPolicy(moto.endpoint, 'gild-pipeline', widenForEmulator(policy));
        recorder.signOwnCallsAs(await createUserWithPolicy(moto.endpoint, 'iam-recorder', everything));
        await createInstanceProfile(moto.endpoint, 'gild-smoke');
        await enforceIam(moto.endpoint, true);
        const asPipelineUser = { ...env, AWS_ACCESS_KEY_ID: pipelineUser.accessKeyId, AWS_SECRET_ACCESS_KEY: pipelineUser.secretAccessKey };
        const first = await gildOk(project, ['run'], asPipelineUser);
        // The AWS SDK's Node-version notice is switched off by gild (src/bin/gild.js); this runs on every supported Node.
        expect(first).not.toMatch(/NodeVersionSupportWarning/);
        await gildOk(project, ['run', '--force'], asPipelineUser);
        await enforceIam(moto.endpoint, false);
        recorder.signOwnCallsAs(undefined);

        // Retention keeps one version (nginx keeps 3 by its own definition): the first run's version is gone and the second's is latest.
        for (const [image, regions] of Object.entries({ 'al2023-base': ['us-east-1', 'us-west-2'], 'graviton-worker': ['us-east-1', 'eu-west-1'], 'windows-2022': ['us-east-1'] })) {
          for (const region of regions) {
            const parameters = await parametersUnder(moto.endpoint, region, `/golden/${image}`);
            const versions = Object.keys(parameters).filter((name) => name.includes('/versions/'));
            expect(versions, `${image} in ${region}`).toHaveLength(1);
            expect(parameters[`/golden/${image}/latest`]).toBe(parameters[versions[0]!]);
          }
        }
        // moto's action-level check: every action the pipeline user's requests (gild's and Packer's) performed is one the policy allows.
        const made = [...new Set(recorder.requests.filter((request) => request.accessKeyId === pipelineUser.accessKeyId).map((request) => `${request.service}:${request.action}`))].sort();
        const allowed = allowedActions(policy);
        expect(made.filter((action) => !allowed.has(action))).toEqual([]);
        console.info(`gild and Packer made these ${made.length} calls as the pipeline user under moto's IAM enforcement:\n  ${made.join('\n  ')}`);
        expect(made).toEqual(
          expect.arrayContaining(['ec2:RunInstances', 'ec2:CreateImage', 'ec2:CopyImage', 'ec2:DeregisterImage', 'ec2:DeleteSnapshot', 'ssm:PutParameter', 'ssm:SendCommand', 'ssm:DeleteParameter']),
        );

        await gildOk(project, ['promote', 'nginx', '--to', 'stable'], env);
        await gildOk(project, ['rollback', 'nginx', '--reason', 'kernel panic on boot'], env);
        await gildOk(project, ['release', 'nginx'], env);
        await gildOk(project, ['revoke', 'nginx', '2.1.0', '--reason', 'CVE-2026-0001 in openssl'], env);
        await gildOk(project, ['restore', 'nginx', '2.1.0', '--reason', 'false alarm'], env);
        await gildOk(project, ['revoke', 'nginx', '2.1.0', '--reason', 'CVE-2026-0001 after all', '--cascade'], env);
        await gildOk(project, ['retire'], env);
        await gildOk(project, ['status'], env, [0, 1]);
        await gildOk(project, ['history', 'nginx'], env);

        // Drift for verify --repair to undo, made straight on moto (not recorded: not gild's request).
        const east = await parametersUnder(moto.endpoint, 'us-east-1', '/golden');
        const ami = east['/golden/al2023-base/latest']!;
        const client = { region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
        await new EC2Client(client).send(new ModifyImageAttributeCommand({ ImageId: ami, LaunchPermission: { Add: [{ UserId: '444455556666' }] } }));
        await new SSMClient({ ...client, region: 'us-west-2' }).send(new DeleteParameterCommand({ Name: '/golden/al2023-base/latest' }));
        const repaired = await gildOk(project, ['verify', '--repair'], env, [0, 1]);
        expect(repaired).toContain('launch permissions: remove 444455556666');
        // A lock left by hand (not recorded: not gild's request), so that unlock's take-over and release are evaluated.
        await new SSMClient(client).send(new PutParameterCommand({ Name: '/golden/nginx/lock', Value: 'left by hand', Type: 'String' }));
        expect(await gildOk(project, ['unlock', 'nginx', '--yes'], env)).toContain('removed /golden/nginx/lock');

        const summary = await simulateRecorded(recorder.requests, recorder.assumedRoles, { pipeline: policy });
        console.info(report('IAM simulation of full runs and lifecycle commands', summary));
        const actions = new Set(summary.verdicts.map((verdict) => `${verdict.authorization.request.service}:${verdict.authorization.request.action}`));
        // The calls that change AWS, each evaluated at least once (a command that stopped calling one would show here). The
        // calls gild makes only on AWS (EnableImageDeprecation, DisableImage, DescribeImageReferences) never reach moto:
        // test/unit/iam-must-deny.test.ts evaluates them.
        expect([...actions]).toEqual(
          expect.arrayContaining([
            'ec2:RunInstances',
            'ec2:CreateImage',
            'ec2:CopyImage',
            'ec2:CreateTags',
            'ec2:DeleteTags',
            'ec2:DeregisterImage',
            'ec2:DeleteSnapshot',
            'ec2:TerminateInstances',
            'ec2:ModifyImageAttribute',
            'ec2:ModifySnapshotAttribute',
            'ssm:PutParameter',
            'ssm:DeleteParameter',
            'ssm:SendCommand',
          ]),
        );
        expect(summary.verdicts.some((verdict) => verdict.authorization.action === 'iam:PassRole')).toBe(true);
        expect(summary.verdicts.some((verdict) => verdict.authorization.context['ec2:CreateAction'] === 'RunInstances')).toBe(true);
        expectNothingDenied(summary);
      } finally {
        await project.remove();
      }
    },
  );

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
