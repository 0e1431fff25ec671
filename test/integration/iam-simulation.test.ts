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
 *
 * What settings and definitions add to a run (distribution accounts, gild's own region copies, notifications) and
 * the simulation refusing Packer's second CreateTags are in iam-simulation-settings.test.ts, so that both files run
 * side by side.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DescribeImagesCommand, EC2Client, ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { imageState, parametersUnder, snapshotExists } from '../support/aws-state.ts';
import { startIamRecorder, type IamRecorder } from '../support/iam-recorder.ts';
import { simulateRecorded } from '../support/iam-simulate-recorded.ts';
import { expectNothingDenied, gildOk, policyOf, report } from '../support/iam-simulation-harness.ts';
import { createInstanceProfile, createUserWithPolicy, enforceIam } from '../support/moto-iam.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, repoRoot } from '../support/project.ts';
import { widenForEmulator } from '../support/widen-for-emulator.ts';

/** The shipped settings keeping one version, so that the second run retires the first (nginx keeps 3 by its own definition). */
async function settingsKeepingOne(): Promise<string> {
  const shipped = await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8');
  const changed = shipped.replace(/retention: \{ keep: \d+ \}/, 'retention: { keep: 1 }');
  if (changed === shipped) throw new Error('pipeline/settings.ts no longer sets retention.keep as this test expects');
  return changed;
}

const allowedActions = (policy: PolicyDocument) => new Set(policy.Statement.filter((statement) => statement.Effect === 'Allow').flatMap((statement) => statement.Action));

/** Every shipped image and the regions it is published in (images/*.ts). */
const shippedRegions: Record<string, readonly string[]> = {
  'al2023-base': ['us-east-1', 'us-west-2'],
  'debian-base': ['us-east-1'],
  'graviton-worker': ['us-east-1', 'eu-west-1'],
  nginx: ['us-east-1', 'us-west-2', 'eu-west-1'],
  'windows-2022': ['us-east-1'],
};

/** An administrator for the recorder's own tag reads while moto enforces IAM (they are not gild's requests). */
const everything: PolicyDocument = { Version: '2012-10-17', Statement: [{ Sid: 'RecorderReads', Effect: 'Allow', Action: ['*'], Resource: ['*'] }] };

describe('the generated IAM policy, simulated over every request of full runs and lifecycle commands', () => {
  let moto: MotoServer;
  let recorder: IamRecorder;

  beforeAll(async () => {
    moto = await startMoto();
    recorder = await startIamRecorder(moto.endpoint);
  });
  afterAll(async () => {
    await recorder?.stop();
    await moto?.stop();
  });

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
        // The recorder's own reads and this test's reads between the runs are signed as this administrator.
        const administrator = await createUserWithPolicy(moto.endpoint, 'iam-recorder', everything);
        recorder.signOwnCallsAs(administrator);
        await createInstanceProfile(moto.endpoint, 'gild-smoke');
        await enforceIam(moto.endpoint, true);
        // The checks are on through the recorder (which forwards the Host each request was signed for): a key moto does
        // not know is refused. The probe is the test's, not gild's: it is dropped from the recording.
        const probe = new EC2Client({ region: 'us-east-1', endpoint: recorder.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
        await expect(probe.send(new DescribeImagesCommand({ Owners: ['self'] }))).rejects.toMatchObject({ name: 'AuthFailure' });
        recorder.reset();
        const asPipelineUser = { ...env, AWS_ACCESS_KEY_ID: pipelineUser.accessKeyId, AWS_SECRET_ACCESS_KEY: pipelineUser.secretAccessKey };
        const first = await gildOk(project, ['run'], asPipelineUser);
        // The AWS SDK's Node-version notice is switched off by gild (src/bin/gild.js); this runs on every supported Node.
        expect(first).not.toMatch(/NodeVersionSupportWarning/);
        // The first run's AMI of every image in every region and its snapshots, read straight from moto (not recorded) as the
        // administrator: moto is enforcing IAM.
        const firstAmis = new Map<string, { amiId: string; snapshotIds: string[] }>();
        for (const [image, regions] of Object.entries(shippedRegions)) {
          for (const region of regions) {
            const parameters = await parametersUnder(moto.endpoint, region, `/golden/${image}`, administrator);
            const amiId = parameters[`/golden/${image}/latest`];
            expect(amiId, `${image} in ${region}`).toBeDefined();
            const state = await imageState(moto.endpoint, region, amiId!, administrator);
            expect(state?.snapshotIds.length, `${image}'s snapshots in ${region}`).toBeGreaterThan(0);
            firstAmis.set(`${image} in ${region}`, { amiId: amiId!, snapshotIds: state!.snapshotIds });
          }
        }
        await gildOk(project, ['run', '--force'], asPipelineUser);
        await enforceIam(moto.endpoint, false);
        recorder.signOwnCallsAs(undefined);

        // Retention keeps one version (nginx keeps 3 by its own definition): everywhere, the first run's version is gone
        // (parameter, AMI and snapshots) and the second's is latest; nginx keeps both.
        for (const [image, regions] of Object.entries(shippedRegions)) {
          for (const region of regions) {
            const where = `${image} in ${region}`;
            const parameters = await parametersUnder(moto.endpoint, region, `/golden/${image}`);
            const versions = Object.keys(parameters).filter((name) => name.includes('/versions/'));
            const { amiId, snapshotIds } = firstAmis.get(where)!;
            expect(parameters[`/golden/${image}/latest`], where).not.toBe(amiId);
            if (image === 'nginx') {
              expect(versions, where).toHaveLength(2);
              expect(await imageState(moto.endpoint, region, amiId), where).toBeDefined();
              continue;
            }
            expect(versions, where).toHaveLength(1);
            expect(parameters[`/golden/${image}/latest`], where).toBe(parameters[versions[0]!]);
            expect(await imageState(moto.endpoint, region, amiId), `${where}: the first AMI is deregistered`).toBeUndefined();
            for (const snapshotId of snapshotIds) expect(await snapshotExists(moto.endpoint, region, snapshotId), `${where}: ${snapshotId} is deleted`).toBe(false);
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
});
