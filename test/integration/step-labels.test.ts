/**
 * No AWS write outside a runner step (issue 19's must-show), and how it is proven: every cli test runs with
 * GILD_LABEL_AWS_REQUESTS (test/vitest.config.ts), so gild's requests carry the step that sent them, and every proxy
 * in front of moto records each write with its maker (test/support/step-ledger.ts); a write a gild process made
 * outside every step fails the test it arrived during (test/support/aws-model-setup.ts), in every cli test file.
 * This file proves the recording itself: a gild process writing inside and outside a step, as the proxy sees it.
 */
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { repoRoot } from '../support/project.ts';
import { assertNoStrayWrites, stepLedger } from '../support/step-ledger.ts';

let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

/** A gild process (the sources, through jiti) that writes once outside any step and once inside step `publish:web`. */
const writer = `
import { importTypeScript } from ${JSON.stringify(path.join(repoRoot, 'src/bin/load-typescript.js'))};
const { createSsmClient, createParameterIfAbsent } = await importTypeScript(import.meta.url, ${JSON.stringify(path.join(repoRoot, 'src/adapters/ssm.ts'))});
const { runInStep } = await importTypeScript(import.meta.url, ${JSON.stringify(path.join(repoRoot, 'src/step-scope.ts'))});
const ssm = createSsmClient('us-east-1', process.env);
await createParameterIfAbsent(ssm, '/golden/stray/outside', 'outside');
await runInStep('publish:web', () => createParameterIfAbsent(ssm, '/golden/web/inside', 'inside'));
ssm.destroy();
`;

describe('every AWS write is recorded with the runner step that made it', () => {
  it('names the step of a labelled write, and fails on a gild write made outside every step', async () => {
    expect(process.env.GILD_LABEL_AWS_REQUESTS, 'the cli project labels requests').toBe('1');
    const before = stepLedger.writes.length;
    const result = await execa(process.execPath, ['--input-type=module', '-e', writer], { cwd: repoRoot, env: moto.env, extendEnv: true, reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(stepLedger.writes.slice(before)).toEqual([
      { operation: 'ssm:PutParameter', madeBy: 'gild outside any step' },
      { operation: 'ssm:PutParameter', madeBy: 'step publish:web' },
    ]);
    // The stray is what fails a test: taken here, so that this test's own afterEach does not fail on it.
    expect(() => assertNoStrayWrites('in this test')).toThrow(/1 AWS write\(s\) in this test were made by gild outside any runner step[\s\S]*ssm:PutParameter \/golden\/stray\/outside/);
    expect(() => assertNoStrayWrites('in this test')).not.toThrow();
  });

  it("attributes the test's own writes to the test, not to a step or a stray", async () => {
    const { createSsmClient, putParameterExpecting } = await import('../../src/adapters/ssm.ts');
    const ssm = createSsmClient('us-east-1', moto.env);
    const before = stepLedger.writes.length;
    await putParameterExpecting(ssm, '/golden/test/arranged', 'arranged', { expected: undefined });
    ssm.destroy();
    expect(stepLedger.writes.slice(before)).toEqual([{ operation: 'ssm:PutParameter', madeBy: 'test' }]);
  });
});
