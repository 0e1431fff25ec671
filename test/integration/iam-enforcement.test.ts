/**
 * moto's IAM enforcement refuses what the policy lacks, and gild names it: the
 * real CLI and real Packer build one image as a user holding the generated
 * policy without one action, and the run fails naming that action.
 *
 * That the policy suffices (every shipped image built, smoke tested,
 * published and retired by gild and Packer under moto's enforcement) is
 * proven by the full runs in iam-simulation.test.ts, whose recording also
 * feeds the simulation with conditions and resources. moto matches EC2 and
 * SSM actions against resource `*` only and ignores conditions, so the user
 * gets the policy widened (each Allow on `*`, no conditions, no Denies): this
 * proves the actions, and test/unit/iam-policy.test.ts proves the scoping.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/iam/generate-policy.ts';
import { widenForEmulator } from '../support/widen-for-emulator.ts';
import { parametersUnder } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createInstanceProfile, createUserWithPolicy, enforceIam } from '../support/moto-iam.ts';
import { createTempProject, type TempProject } from '../support/project.ts';

/** The policy without one action (and without statements left empty, which IAM refuses). */
function withoutAction(policy: PolicyDocument, removed: string): PolicyDocument {
  return {
    ...policy,
    Statement: policy.Statement.map((statement) => ({ ...statement, Action: statement.Action.filter((action) => action !== removed) })).filter((statement) => statement.Action.length > 0),
  };
}

describe('the generated IAM policy, enforced by moto', () => {
  let moto: MotoServer;
  let project: TempProject;
  let policy: PolicyDocument;

  beforeAll(async () => {
    moto = await startMoto();
    project = await createTempProject({ shippedImages: true });
    const printed = await project.gild(['iam-policy', '--json'], {});
    expect(printed.exitCode, printed.stderr).toBe(0);
    policy = JSON.parse(printed.stdout) as PolicyDocument;
  });
  afterAll(async () => {
    await project?.remove();
    await moto?.stop();
  });
  beforeEach(async () => {
    await enforceIam(moto.endpoint, false);
    await moto.reset();
  });

  /** Creates the user and the smoke profile while checks are off, then turns them on; returns the user's environment. */
  async function runAs(userPolicy: PolicyDocument, userName: string): Promise<Record<string, string> & { AWS_ACCESS_KEY_ID: string }> {
    const key = await createUserWithPolicy(moto.endpoint, userName, userPolicy);
    await createInstanceProfile(moto.endpoint, 'gild-smoke');
    await enforceIam(moto.endpoint, true);
    return { ...moto.env, AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, GILD_SSM_STAND_IN: '1' };
  }

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
