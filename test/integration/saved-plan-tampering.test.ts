/**
 * A saved plan is a request, not an authority, through the real CLI on moto with real Packer: a plan file edited
 * between `gild plan --json` and `gild run --plan` (a CI artifact passed between jobs) is refused, exit 2, naming the
 * step and what is wrong, before any lock is taken (the proxy sees only reads); the untouched plan is applied.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PlanStep, RunPlan } from '../../src/plan/run-plan.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';
import { createTempProject, imageSource } from '../support/project.ts';

type Tampering = { readonly name: string; readonly edit: (plan: RunPlan & { steps: PlanStep[] }, facts: { webAmi: string; apiAmi: string }) => unknown; readonly says: readonly (string | RegExp)[] };

const publishOf = (plan: RunPlan, image: string) => plan.steps.find((step): step is Extract<PlanStep, { kind: 'publish' }> => step.kind === 'publish' && step.image === image)!;
const retireStep = (amiId: string, after: string[]) => ({
  id: 'retire:web:1.0.0:us-east-1',
  kind: 'retire',
  image: 'web',
  version: '1.0.0',
  region: 'us-east-1',
  amiId,
  phase: 'deregister',
  snapshotIds: [],
  parameterName: '/golden/web/versions/1.0.0',
  after,
  reason: 'tidy up',
  precondition: 'none',
});

const tamperings: readonly Tampering[] = [
  {
    name: "publishes another image's AMI",
    edit: (plan, { apiAmi }) => ({ ...plan, steps: plan.steps.map((step) => (step.id === 'publish:web' ? { ...step, amis: { amis: { 'us-east-1': apiAmi } } } : step)) }),
    says: ['step publish:web: amis.from: the saved plan says nothing, a plan made now says "build:web"'],
  },
  {
    name: "adds a write of another image's latest to a publish",
    edit: (plan) => ({
      ...plan,
      steps: plan.steps.map((step) =>
        step.id === 'publish:web' ? { ...publishOf(plan, 'web'), writes: [...publishOf(plan, 'web').writes, { region: 'us-east-1', name: '/golden/api/latest', pointer: 'latest' }] } : step,
      ),
    }),
    says: [/step publish:web: writes\[\d+\]: the saved plan says .*\/golden\/api\/latest.*, a plan made now says nothing/],
  },
  {
    name: 'retires a version retention keeps',
    edit: (plan, { webAmi }) => ({ ...plan, steps: [...plan.steps, retireStep(webAmi, ['publish:web'])] }),
    says: ['step retire:web:1.0.0:us-east-1 (retire): a plan made now has no such step'],
  },
  {
    name: 'adds a retire step that waits for no lock',
    edit: (plan, { webAmi }) => ({ ...plan, steps: [retireStep(webAmi, []), ...plan.steps] }),
    says: ['step retire:web:1.0.0:us-east-1 (retire): a plan made now has no such step'],
  },
  {
    name: 'has a step of a kind gild does not plan',
    edit: (plan) => ({ ...plan, steps: plan.steps.map((step) => (step.id === 'smoke:web' ? { ...step, kind: 'teleport' } : step)) }),
    says: [/steps\[\d+\]\.kind: .*none of the kinds gild plans/],
  },
  {
    name: 'misses fields and has wrong types',
    edit: (plan) => ({
      ...plan,
      steps: plan.steps.map((step) => (step.id === 'publish:web' ? { ...step, writes: undefined } : step.id === 'build:api' ? { ...step, regions: 'us-east-1' } : step)),
    }),
    says: [/steps\[\d+\]\.writes: /, /steps\[\d+\]\.regions: /],
  },
  {
    name: 'has a dangling after',
    edit: (plan) => ({ ...plan, steps: plan.steps.map((step) => (step.id === 'publish:web' ? { ...step, after: ['smoke:nowhere'] } : step)) }),
    says: [/steps\[\d+\]\.after\[0\]: step publish:web waits for "smoke:nowhere", which is no step of the plan/],
  },
  {
    // packer-exit waits beside the smoke test for its verdict: a smoke test made to wait for packer-exit would never end.
    name: 'waits in a circle through a step beside it',
    edit: (plan) => ({ ...plan, steps: plan.steps.map((step) => (step.id === 'smoke:web' ? { ...step, after: [...step.after, 'packer-exit:web'] } : step)) }),
    says: [/steps: (packer-exit:web → smoke:web → packer-exit:web|smoke:web → packer-exit:web → smoke:web) wait for each other in a circle \(.*packer-exit:web besideSmoke smoke:web/],
  },
];

describe('gild run --plan refuses an edited plan before any lock', () => {
  const emulator = useMotoBehindFaultProxy();

  it('refuses each tampering with the step named, taking no lock and writing nothing, then applies the untouched plan', async () => {
    const regions = "{ build: 'us-east-1' }";
    const project = await createTempProject({ images: { 'web.ts': imageSource({ name: 'web', regions }), 'api.ts': imageSource({ name: 'api', regions }) } });
    try {
      const env = { ...emulator.proxy.env(emulator.moto.env), GILD_SMOKE_POLL_MS: '100' };
      const first = await project.gild(['run'], env);
      expect(first.exitCode, first.stdout + first.stderr).toBe(0);
      const planned = await project.gild(['plan', '--json', '--force'], env);
      expect(planned.exitCode, planned.stderr).toBe(0);
      const plan = JSON.parse(planned.stdout) as RunPlan & { steps: PlanStep[] };
      await writeFile(path.join(project.dir, 'plan.json'), planned.stdout);
      const previousLatest = (image: string) => publishOf(plan, image).writes.find((write) => write.pointer === 'latest')!.previous!;
      const facts = { webAmi: previousLatest('web'), apiAmi: previousLatest('api') };
      expect(facts.webAmi).toMatch(/^ami-/);

      for (const tampering of tamperings) {
        emulator.proxy.reset();
        await writeFile(path.join(project.dir, 'tampered.json'), JSON.stringify(tampering.edit(structuredClone(plan), facts), null, 2));

        const refused = await project.gild(['run', '--plan', 'tampered.json'], env);

        expect(refused.exitCode, `${tampering.name}: ${refused.stdout}${refused.stderr}`).toBe(2);
        for (const said of tampering.says) expect(refused.stderr, tampering.name).toMatch(typeof said === 'string' ? new RegExp(said.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : said);
        expect(refused.stderr).not.toMatch(/internal error|TypeError/);
        // NOTE: IAM is left out: the emulator's profile gives moto the instance profile builds launch with.
        const writes = emulator.proxy.actions().filter((action) => !/^(Describe|Get|List)/.test(action) && !/InstanceProfile|Role$/.test(action));
        expect(writes, tampering.name).toEqual([]);
      }

      const applied = await project.gild(['run', '--plan', 'plan.json'], env);
      expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
      expect(applied.stdout).toMatch(/web 1\.0\.1 published/);
      expect(applied.stdout).toMatch(/api 1\.0\.1 published/);
    } finally {
      await project.remove();
    }
  });
});
