/**
 * Does planning scale linearly with the number of images? planRun observes
 * AWS once per region (parameters, AMIs, instances, temporary resources) and
 * assembles the plan purely, so its cost per image should stay flat: planning
 * 20 published images should cost at most 1.5× per image what planning 5 does.
 */
import { getParameter, putImageParameter } from '../../src/adapters/ssm.ts';
import { latestParameterName, versionParameterName } from '../../src/plan/parameter-names.ts';
import { planRun } from '../../src/apply/run-trip.ts';
import type { MotoServer } from '../support/moto.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { createBenchProject, createEmulatorContext, loadProject } from './bench-project.ts';
import { interleave } from './measure.ts';

const smallCount = 5;
const largeCount = 20;
const rounds = 7;
const maxPerImageRatio = 1.5;
/** moto ships this public parameter; its AMI stands in for every published version. */
const publishedAmiParameter = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

export async function benchmarkPlanScaling(moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult> {
  const project = await createBenchProject('plan', largeCount);
  defer(() => project.remove());
  const loaded = await loadProject(project.dir);
  await moto.reset();
  const context = await createEmulatorContext(project.dir, loaded, moto);
  defer(async () => context.clients.destroy());

  // Every image is published (versions/1.0.0 and latest), as on a nightly run where most images exist already.
  const ssm = context.clients.ssm('us-east-1');
  const publishedAmi = await getParameter(ssm, publishedAmiParameter);
  if (!publishedAmi) throw new Error(`moto has no ${publishedAmiParameter} to publish the benchmark's images with`);
  const amiId = publishedAmi.value;
  for (const image of loaded.images) {
    await putImageParameter(ssm, versionParameterName(context.settings.ssmPrefix, image.name, image.version), amiId, { overwrite: false });
    await putImageParameter(ssm, latestParameterName(context.settings.ssmPrefix, image.name), amiId, { overwrite: false });
  }

  const planFor = (count: number) => ({
    name: `${count} images`,
    async run() {
      const { plan } = await planRun(context, loaded.images.slice(0, count), { force: false, baseOverrides: {} });
      if (plan.images.length !== count || plan.images.some((image) => image.action === 'error')) throw new Error(`planning ${count} images went wrong: ${JSON.stringify(plan.images)}`);
    },
  });
  const [small, large] = await interleave([planFor(smallCount), planFor(largeCount)], rounds, { warmup: true });
  const perImageRatio = large!.medianMs / largeCount / (small!.medianMs / smallCount);
  return {
    name: 'plan-scaling',
    title: `Planning published images against moto, ${smallCount} vs ${largeCount} (${rounds} rounds)`,
    variants: [small!, large!],
    unit: { label: 'ms / image', per: (variant) => variant.medianMs / (variant === small ? smallCount : largeCount) },
    ratio: { label: `per-image cost, ${largeCount} / ${smallCount}`, value: perImageRatio, target: `≤ ${maxPerImageRatio}×`, met: perImageRatio <= maxPerImageRatio },
  };
}
