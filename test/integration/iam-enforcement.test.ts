/**
 * The generated IAM policy suffices: the real CLI and real Packer run the
 * whole pipeline (build, smoke, publish, and a retirement) against moto with
 * IAM enforcement on, as a user holding only that policy.
 *
 * moto matches EC2 and SSM actions against resource `*` only and ignores
 * conditions, so the user gets the policy widened (each Allow on `*`, no
 * conditions, no Denies): this proves the actions, and
 * test/unit/iam-policy.test.ts proves the scoping.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { widenForEmulator } from '../support/widen-for-emulator.ts';
import { parametersUnder } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createInstanceProfile, createUserWithPolicy, enforceIam } from '../support/moto-iam.ts';
import { createTempProject, repoRoot, type TempProject } from '../support/project.ts';

/** The shipped settings with retention 1, so that the second publishing run retires the first version. */
async function settingsKeepingOne(): Promise<string> {
  const shipped = await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8');
  const changed = shipped.replace(/retention: \{ keep: \d+ \}/, 'retention: { keep: 1 }');
  if (changed === shipped) throw new Error('pipeline/settings.ts no longer sets retention.keep as this test expects');
  return changed;
}

/** The actions the recorded calls performed, as IAM names them (`ec2:RunInstances`, `ssm:PutParameter`). */
function recordedActions(recording: string, accessKeyId: string): string[] {
  const actions = new Set<string>();
  for (const line of recording.split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { headers: Record<string, string>; body: string | null; body_encoded: boolean; url: string };
    if (new URL(entry.url).pathname.startsWith('/moto-api')) continue;
    const header = (name: string) => Object.entries(entry.headers).find(([key]) => key.toLowerCase() === name)?.[1];
    const credential = /Credential=([^/]+)\/[^/]+\/[^/]+\/([^/]+)\//.exec(header('authorization') ?? '');
    // Only calls the pipeline user made: the emulator preparation signs its own setup calls with other keys.
    if (credential?.[1] !== accessKeyId) continue;
    const service = credential[2];
    const body = entry.body_encoded ? Buffer.from(entry.body ?? '', 'base64').toString('utf8') : (entry.body ?? '');
    const action = header('x-amz-target')?.split('.').pop() ?? new URLSearchParams(body).get('Action') ?? new URL(entry.url).searchParams.get('Action');
    if (service && action) actions.add(`${service}:${action}`);
  }
  return [...actions].sort();
}

/** The policy without one action (and without statements left empty, which IAM refuses). */
function withoutAction(policy: PolicyDocument, removed: string): PolicyDocument {
  return {
    ...policy,
    Statement: policy.Statement.map((statement) => ({ ...statement, Action: statement.Action.filter((action) => action !== removed) })).filter((statement) => statement.Action.length > 0),
  };
}

const allowedActions = (policy: PolicyDocument) => new Set(policy.Statement.filter((statement) => statement.Effect === 'Allow').flatMap((statement) => statement.Action));

describe('the generated IAM policy, enforced by moto', () => {
  let moto: MotoServer;
  let project: TempProject;
  let scratch: string;
  let policy: PolicyDocument;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'gild-iam-'));
    moto = await startMoto({ env: { ...(process.env as Record<string, string>), MOTO_RECORDER_FILEPATH: path.join(scratch, 'recording.jsonl') } });
    project = await createTempProject({ shippedImages: true, settings: await settingsKeepingOne() });
    const printed = await project.gild(['iam-policy', '--json'], {});
    expect(printed.exitCode, printed.stderr).toBe(0);
    policy = JSON.parse(printed.stdout) as PolicyDocument;
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
    await rm(scratch, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await enforceIam(moto.endpoint, false);
    await moto.reset();
    await fetch(`${moto.endpoint}/moto-api/recorder/reset-recording`, { method: 'POST' });
  });

  /** Creates the user and the smoke profile while checks are off, then turns them on; returns the user's environment. */
  async function runAs(userPolicy: PolicyDocument, userName: string): Promise<Record<string, string> & { AWS_ACCESS_KEY_ID: string }> {
    const key = await createUserWithPolicy(moto.endpoint, userName, userPolicy);
    await createInstanceProfile(moto.endpoint, 'gild-smoke');
    await enforceIam(moto.endpoint, true);
    return { ...moto.env, AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, GILD_SSM_STAND_IN: '1' };
  }

  it('lets gild and Packer build, smoke test, publish and retire every shipped image, calling only allowed actions', async () => {
    const env = await runAs(widenForEmulator(policy), 'gild-pipeline');
    await fetch(`${moto.endpoint}/moto-api/recorder/start-recording`, { method: 'POST' });

    const first = await project.gild(['run'], env);
    expect(first.stdout + first.stderr).not.toMatch(/AccessDenied|not authorized|internal error/);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    // The AWS SDK's Node-version notice is switched off by gild (src/bin/gild.js); this runs on every supported Node.
    expect(first.stderr).not.toMatch(/NodeVersionSupportWarning/);
    const second = await project.gild(['run', '--force'], env);
    expect(second.stdout + second.stderr).not.toMatch(/AccessDenied|not authorized|internal error/);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);

    await fetch(`${moto.endpoint}/moto-api/recorder/stop-recording`, { method: 'POST' });
    await enforceIam(moto.endpoint, false);
    // Retention keeps one version (nginx keeps 3 by its own definition): the first run's version is gone and the second's is latest.
    for (const [image, regions] of Object.entries({ 'al2023-base': ['us-east-1', 'us-west-2'], 'graviton-worker': ['us-east-1', 'eu-west-1'], 'windows-2022': ['us-east-1'] })) {
      for (const region of regions) {
        const parameters = await parametersUnder(moto.endpoint, region, `/golden/${image}`);
        const versions = Object.keys(parameters).filter((name) => name.includes('/versions/'));
        expect(versions, `${image} in ${region}`).toHaveLength(1);
        expect(parameters[`/golden/${image}/latest`]).toBe(parameters[versions[0]!]);
      }
    }

    const made = recordedActions(await (await fetch(`${moto.endpoint}/moto-api/recorder/download-recording`)).text(), env.AWS_ACCESS_KEY_ID);
    const allowed = allowedActions(policy);
    expect(made.filter((action) => !allowed.has(action))).toEqual([]);
    // The actions this code path needs, for the record (and for whoever trims the policy).
    await writeFile(path.join(scratch, 'actions.txt'), made.join('\n'));
    console.info(`gild and Packer made these ${made.length} calls as the pipeline user:\n  ${made.join('\n  ')}`);
    expect(made).toEqual(
      expect.arrayContaining(['ec2:RunInstances', 'ec2:CreateImage', 'ec2:CopyImage', 'ec2:DeregisterImage', 'ec2:DeleteSnapshot', 'ssm:PutParameter', 'ssm:SendCommand', 'ssm:DeleteParameter']),
    );
  }, 300_000);

  it('fails the build, naming the denied action, when Packer is refused', async () => {
    const env = await runAs(widenForEmulator(withoutAction(policy, 'ec2:CreateImage')), 'gild-pipeline-without-create-image');

    const run = await project.gild(['run', 'al2023-base'], env);
    expect(run.exitCode).toBe(1);
    expect(run.stdout + run.stderr).not.toMatch(/internal error/);
    expect(run.stdout + run.stderr).toMatch(/failed in build: Packer build failed for image "al2023-base": the pipeline's credentials are not allowed to call ec2:CreateImage/);
  }, 300_000);

  it('fails the run, naming the denied action, when the policy lacks one', async () => {
    const env = await runAs(widenForEmulator(withoutAction(policy, 'ssm:PutParameter')), 'gild-pipeline-without-put');

    const run = await project.gild(['run', 'al2023-base'], env);
    expect(run.exitCode).toBe(1);
    expect(run.stdout + run.stderr).not.toMatch(/internal error/);
    expect(run.stdout + run.stderr).toMatch(/not allowed to call ssm:PutParameter/);
    await enforceIam(moto.endpoint, false);
    expect(await parametersUnder(moto.endpoint, 'us-east-1', '/golden/al2023-base')).not.toHaveProperty('/golden/al2023-base/latest');
  }, 300_000);
});
