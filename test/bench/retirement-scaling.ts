/**
 * Does retirement cost grow with pages and candidates, not with AMIs? One
 * image with 500 and with 5,000 AMIs (each in its own moto), of which the
 * newest 21 versions are published (`versions/<v>`, `latest`, `v1`) and
 * keep = 3: 18 candidates either way. Observation reads the image's
 * parameters, describes only the AMIs they name (by ID), asks who uses the
 * AMIs the policy would retire, and plans. Calls are counted behind a proxy
 * that pages moto's answers as AWS does; the target is calls at 5,000 within
 * 2× of 500, and only candidates described.
 */
import { CreateImageCommand, RunInstancesCommand, StopInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { createAutoScalingClients } from '../../src/adapters/autoscaling.ts';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { describeImages } from '../../src/adapters/ec2.ts';
import { getParametersByPath, putImageParameter } from '../../src/adapters/ssm.ts';
import type { RetentionPolicy } from '../../src/definition/schema.ts';
import { observeReferences, type ReferenceClients } from '../../src/observe/observe-references.ts';
import { imageParameterPath, latestParameterName, versionParameterName } from '../../src/plan/parameter-names.ts';
import { planRetirementPolicy, pointersIn, publishedVersionsIn, type OwnedAmi, type RetirementPolicyPlan } from '../../src/plan/plan-retirement-policy.ts';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { interleave } from './measure.ts';

const region = 'us-east-1';
const ssmPrefix = '/golden';
const image = 'web';
const smallCount = 500;
const largeCount = 5000;
const publishedCount = 21;
const policy: RetentionPolicy = { keep: 3, maxAgeDays: undefined, minAgeDays: 0, phases: {} };
const rounds = 5;
const maxCallRatio = 2;
/** Parallel CreateImage calls while seeding: moto serves them on threads, and 5,000 one by one take minutes. */
const seedConcurrency = 20;

interface Fleet {
  readonly moto: MotoServer;
  readonly proxy: CountingProxy;
  readonly clients: ReferenceClients & { destroy(): void };
  readonly amiCount: number;
}

/**
 * `count` AMIs of one image, made the fast way (CreateImage from one instance, tags in the same call, in parallel
 * batches). The newest 21 are published; the rest stand for what piles up over years (failed and unpublished
 * builds), which retirement must not have to read.
 */
async function seedFleet(ec2: EC2Client, count: number): Promise<string[]> {
  const instance = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-1e749f67', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  const instanceId = instance.Instances![0]!.InstanceId!;
  const amiIds: string[] = new Array(count);
  const tagsFor = (index: number) => {
    const published = index >= count - publishedCount;
    const version = published ? `1.${index - (count - publishedCount)}.0` : `0.${Math.floor(index / 1000)}.${index % 1000}`;
    const at = new Date(Date.UTC(2026, 0, 1) + index * 3_600_000).toISOString();
    return [
      { Key: 'gild:image', Value: image },
      { Key: 'gild:version', Value: version },
      { Key: 'gild:status', Value: published ? 'published' : 'failed' },
      { Key: 'gild:built-at', Value: at },
      ...(published ? [{ Key: 'gild:published-at', Value: at }] : []),
    ];
  };
  for (let start = 0; start < count; start += seedConcurrency) {
    const indexes = Array.from({ length: Math.min(seedConcurrency, count - start) }, (_, offset) => start + offset);
    await Promise.all(
      indexes.map(async (index) => {
        const output = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: `${image}-${index}`, TagSpecifications: [{ ResourceType: 'image', Tags: tagsFor(index) }] }));
        amiIds[index] = output.ImageId!;
      }),
    );
  }
  return amiIds;
}

async function createFleet(moto: MotoServer, amiCount: number): Promise<Fleet> {
  const proxy = await startCountingProxy(moto.endpoint);
  const env = proxy.env(moto.env);
  const aws = createAwsClients(env);
  const autoscaling = createAutoScalingClients(env);
  const clients = { ec2: aws.ec2, ssm: aws.ssm, autoscaling: autoscaling.autoscaling, destroy: () => (aws.destroy(), autoscaling.destroy()) };
  const ec2 = clients.ec2(region);
  const ssm = clients.ssm(region);
  const amiIds = await seedFleet(ec2, amiCount);
  const published = amiIds.slice(-publishedCount);
  for (const [index, amiId] of published.entries()) await putImageParameter(ssm, versionParameterName(ssmPrefix, image, `1.${index}.0`), amiId, { overwrite: false });
  await putImageParameter(ssm, latestParameterName(ssmPrefix, image), published.at(-1)!, { overwrite: false });
  await putImageParameter(ssm, `${imageParameterPath(ssmPrefix, image)}/v1`, published.at(-1)!, { overwrite: false });
  // Two candidates are in use, so the reference check has something to find.
  await putImageParameter(ssm, '/apps/web/ami', published[5]!, { overwrite: false });
  const user = await ec2.send(new RunInstancesCommand({ ImageId: published[6]!, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  await ec2.send(new StopInstancesCommand({ InstanceIds: [user.Instances![0]!.InstanceId!] }));
  return { moto, proxy, clients, amiCount };
}

/**
 * Retirement's reads and plan for one image in one region: what an engine's observe + assemble does for it. Only
 * the AMIs `versions/<v>` and the pointers name are described; only those the policy would retire are checked
 * for users.
 */
export async function observeAndPlanRetirement(clients: ReferenceClients, now: string): Promise<RetirementPolicyPlan> {
  const parameters = await getParametersByPath(clients.ssm(region), imageParameterPath(ssmPrefix, image));
  const published = publishedVersionsIn(ssmPrefix, image, parameters);
  const pointers = pointersIn(ssmPrefix, image, parameters);
  const named = [...new Set([...Object.values(published), ...Object.values(pointers)])];
  const described = await describeImages(clients.ec2(region), { imageIds: named });
  const owned: Record<string, OwnedAmi> = Object.fromEntries(described.filter((ami) => ami.tags['gild:image'] === image).map((ami) => [ami.amiId, ami]));
  const input = {
    image,
    ssmPrefix,
    policy,
    now,
    published: Object.fromEntries(Object.entries(published).map(([version, amiId]) => [version, { [region]: amiId }])),
    pointers: { [region]: pointers },
    held: {},
    pinned: {},
    ownedAmis: { [region]: owned },
    references: {},
  };
  const draft = planRetirementPolicy(input);
  const references = await observeReferences(clients, region, [...new Set(draft.steps.map((step) => step.amiId))], {
    ssmPrefix,
    capabilities: { parameterDataTypeFilter: false, imageReferences: false },
  });
  return planRetirementPolicy({ ...input, references });
}

export async function benchmarkRetirementScaling(moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult> {
  // Each size gets its own moto, so that the small fleet's times are not paid on the large one's store.
  const smallMoto = await startMoto();
  defer(() => smallMoto.stop());
  await moto.reset();
  const seedStarted = performance.now();
  const fleets = [await createFleet(smallMoto, smallCount), await createFleet(moto, largeCount)];
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  for (const fleet of fleets) {
    defer(async () => {
      fleet.clients.destroy();
      await fleet.proxy.stop();
    });
  }

  const now = new Date().toISOString();
  const counts = new Map<number, { calls: number; described: number; retired: number; kept: number; slowest: string }>();
  const variants = fleets.map((fleet) => ({
    name: `${fleet.amiCount.toLocaleString('en')} AMIs`,
    prepare: async () => fleet.proxy.reset(),
    async run() {
      const plan = await observeAndPlanRetirement(fleet.clients, now);
      const byAction = new Map<string, number>();
      for (const call of fleet.proxy.calls) byAction.set(call.action, (byAction.get(call.action) ?? 0) + call.ms);
      const slowest = [...byAction]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([action, ms]) => `${action} ${ms.toFixed(0)} ms`)
        .join(', ');
      counts.set(fleet.amiCount, { calls: fleet.proxy.calls.length, described: fleet.proxy.imagesDescribed, retired: plan.steps.length, kept: plan.kept.length, slowest });
    },
  }));
  const [small, large] = await interleave(variants, rounds, { warmup: true });
  const smallCounts = counts.get(smallCount)!;
  const largeCounts = counts.get(largeCount)!;
  if (largeCounts.retired !== publishedCount - policy.keep - 2 || largeCounts.kept !== 2)
    throw new Error(`retirement planned ${largeCounts.retired} retirements and ${largeCounts.kept} kept; expected ${publishedCount - policy.keep - 2} and 2`);
  const callRatio = largeCounts.calls / smallCounts.calls;
  const describe = (amiCount: number, figures: typeof smallCounts) =>
    `${amiCount.toLocaleString('en')} AMIs: ${figures.calls} calls, ${figures.described} AMIs described, ${figures.retired} retired, ${figures.kept} kept in use; slowest answers (last round): ${figures.slowest}`;
  return {
    name: 'retirement-scaling',
    title: `Retirement observation + planning, one image, ${publishedCount} published, keep ${policy.keep} (${rounds} rounds)`,
    variants: [small!, large!],
    unit: { label: 'calls', per: (variant) => (variant === small ? smallCounts.calls : largeCounts.calls) },
    ratio: {
      label: `API calls, ${largeCount.toLocaleString('en')} / ${smallCount}`,
      value: callRatio,
      target: `≤ ${maxCallRatio}×`,
      met: callRatio <= maxCallRatio && largeCounts.described <= publishedCount,
    },
    notes: [
      describe(smallCount, smallCounts),
      describe(largeCount, largeCounts),
      `time ${(large!.medianMs / small!.medianMs).toFixed(2)}× (${small!.medianMs.toFixed(0)} → ${large!.medianMs.toFixed(0)} ms); seeding both fleets took ${seedSeconds.toFixed(0)} s`,
      'where time grows with AMIs, it is in moto: its DescribeImages walks every AMI it holds even for an image-id filter (see the slowest answers); gild asks for the same 21 AMIs at both sizes',
    ],
  };
}
