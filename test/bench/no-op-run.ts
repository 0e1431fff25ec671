/**
 * What does a nightly run cost when nothing changed? 25, 50 and 100 images,
 * each published (versions/1.0.0, latest and v1 in its build region and one copy
 * region, on AMIs tagged as gild tags them, with today's fingerprint and
 * base), then `gild run` as a user runs it: the CLI in its own process,
 * against moto behind the counting proxy, which pages answers as AWS does.
 * Targets: at most 2 AWS calls per image plus a constant, and 100 images in
 * under 1.5 s of wall time.
 */
import { CreateImageCommand, RunInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import semver from 'semver';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { getParameter, putImageParameter } from '../../src/adapters/ssm.ts';
import { loadProject } from '../../src/commands/load-project.ts';
import type { Context } from '../../src/context.ts';
import { fingerprintImages } from '../../src/observe/local-inputs.ts';
import { latestParameterName, majorParameterName, versionParameterName } from '../../src/plan/parameter-names.ts';
import { startCountingProxy, timeAwaitingAnswers, type CountingProxy } from '../support/counting-proxy.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { interleave, type Variant, type VariantResult } from './measure.ts';

const sizes = [25, 50, 100] as const;
const largest = 100;
const buildRegion = 'us-east-1';
const copyRegion = 'us-west-2';
const rounds = 5;
const maxCallsPerImage = 2;
const maxLargestMs = 1500;
/** The AMI moto resolves al2023 to: the base every seeded image was "built" on. */
const baseParameter = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
/** Parallel seeding calls; moto serves them on threads. */
const seedConcurrency = 10;

export interface Fleet {
  readonly size: number;
  readonly moto: MotoServer;
  readonly proxy: CountingProxy;
  readonly project: TempProject;
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map(work));
}

async function seedInstance(ec2: EC2Client, amiId: string): Promise<string> {
  const answer = await ec2.send(new RunInstancesCommand({ ImageId: amiId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  return answer.Instances![0]!.InstanceId!;
}

/**
 * One project of `size` images and a moto in which every one of them is published and unchanged: the AMIs carry
 * the fingerprint and base this project's run computes, so the plan finds nothing to do.
 */
export async function createFleet(size: number): Promise<Fleet> {
  const images: Record<string, string> = {};
  for (let index = 1; index <= size; index++) {
    const name = `noop-${String(index).padStart(3, '0')}`;
    images[`${name}.ts`] = imageSource({ name, regions: `{ build: '${buildRegion}', copies: ['${copyRegion}'] }` });
  }
  const project = await createTempProject({ images });
  const loaded = await loadProject(project.dir);
  // The run targets the emulator, whose rendering (and so fingerprint) differs from AWS's: compute it the same way.
  const fingerprints = await fingerprintImages({ cwd: project.dir, options: { emulator: { endpoint: 'http://emulator', standInSources: {} } } } as unknown as Context, loaded.images);
  const moto = await startMoto();
  const proxy = await startCountingProxy(moto.endpoint);
  const aws = createAwsClients(moto.env);
  try {
    const base = await getParameter(aws.ssm(buildRegion), baseParameter);
    if (!base) throw new Error(`moto has no ${baseParameter} to seed the no-op fleet with`);
    const instances = Object.fromEntries(await Promise.all([buildRegion, copyRegion].map(async (region) => [region, await seedInstance(aws.ec2(region), base.value)] as const)));
    const builtAt = new Date().toISOString();
    await inBatches(loaded.images, seedConcurrency, async (image) => {
      const tags = [
        { Key: 'Name', Value: image.name },
        { Key: 'gild:image', Value: image.name },
        { Key: 'gild:version', Value: image.version },
        { Key: 'gild:status', Value: 'published' },
        { Key: 'gild:run-id', Value: 'seed' },
        { Key: 'gild:fingerprint', Value: fingerprints[image.name]! },
        { Key: 'gild:base-ami', Value: base.value },
        { Key: 'gild:built-at', Value: builtAt },
      ];
      for (const region of image.regions) {
        const created = await aws
          .ec2(region)
          .send(new CreateImageCommand({ InstanceId: instances[region]!, Name: `${image.name}-${image.version}`, TagSpecifications: [{ ResourceType: 'image', Tags: tags }] }));
        const ssm = aws.ssm(region);
        await putImageParameter(ssm, versionParameterName('/golden', image.name, image.version), created.ImageId!, { overwrite: false });
        await putImageParameter(ssm, latestParameterName('/golden', image.name), created.ImageId!, { overwrite: false });
        // Publish also points the v<major> line, so an unchanged image has it too.
        await putImageParameter(ssm, majorParameterName('/golden', image.name, semver.major(image.version)), created.ImageId!, { overwrite: false });
      }
    });
  } finally {
    aws.destroy();
  }
  return { size, moto, proxy, project };
}

export async function benchmarkNoOpRun(_moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult[]> {
  // Each size gets its own moto and project, so that no size pays for another's parameters and AMIs.
  const seedStarted = performance.now();
  const fleets: Fleet[] = [];
  for (const size of sizes) {
    const fleet = await createFleet(size);
    fleets.push(fleet);
    defer(async () => {
      await fleet.proxy.stop();
      await fleet.moto.stop();
      await fleet.project.remove();
    });
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  const counts = new Map<number, { calls: number; byAction: string; wallMs: number; awaitingMs: number }>();
  const variants: Variant<void>[] = fleets.map((fleet) => ({
    name: `${fleet.size} images`,
    prepare: async () => fleet.proxy.reset(),
    async run() {
      const started = performance.now();
      const result = await fleet.project.gild(['run'], fleet.proxy.env(fleet.moto.env));
      const wallMs = performance.now() - started;
      const unchanged = (result.stdout.match(/unchanged/g) ?? []).length;
      if (result.exitCode !== 0 || unchanged < fleet.size) throw new Error(`the no-op run over ${fleet.size} images was not a no-op (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
      const byAction = new Map<string, { count: number; ms: number }>();
      for (const call of fleet.proxy.calls) {
        const sum = byAction.get(call.action) ?? { count: 0, ms: 0 };
        byAction.set(call.action, { count: sum.count + 1, ms: sum.ms + call.ms });
      }
      const listed = [...byAction].sort((a, b) => b[1].ms - a[1].ms).map(([action, { count, ms }]) => `${action} ${count} (${ms.toFixed(0)} ms)`);
      counts.set(fleet.size, { calls: fleet.proxy.calls.filter((call) => call.service !== 'other').length, byAction: listed.join(', '), wallMs, awaitingMs: timeAwaitingAnswers(fleet.proxy.calls) });
    },
  }));
  const results = await interleave(variants, rounds, { warmup: true });
  const callsAt = (size: number) => counts.get(size)!.calls;
  // Calls per image is the slope between the smallest and the largest fleet; what does not grow is the constant.
  const perImage = (callsAt(largest) - callsAt(sizes[0])) / (largest - sizes[0]);
  const constant = callsAt(largest) - perImage * largest;
  const largestMs = results.at(-1)!.medianMs;
  const title = `No-op \`gild run\` (CLI process), every image published and unchanged, build + 1 copy region (${rounds} rounds)`;
  const sizeOf = (variant: VariantResult) => sizes[results.indexOf(variant)]!;
  return [
    {
      name: 'no-op-calls',
      title: `${title}: AWS calls`,
      variants: results,
      unit: { label: 'calls / image', per: (variant) => callsAt(sizeOf(variant)) / sizeOf(variant) },
      ratio: { label: `calls per image added, ${sizes[0]} → ${largest} images`, value: perImage, target: `≤ ${maxCallsPerImage} + a constant`, met: perImage <= maxCallsPerImage },
      notes: [`${perImage.toFixed(2)} calls per image + ${constant.toFixed(0)}`, ...sizes.map((size) => `${size} images: ${callsAt(size)} AWS calls; answers by time (last round): ${counts.get(size)!.byAction}`), `seeding took ${seedSeconds.toFixed(0)} s`],
    },
    {
      name: 'no-op-time',
      title: `${title}: wall time`,
      variants: results,
      unit: { label: 'ms / image', per: (variant) => variant.medianMs / sizeOf(variant) },
      ratio: { label: `${largest} images, median / ${maxLargestMs} ms`, value: largestMs / maxLargestMs, target: '< 1×', met: largestMs < maxLargestMs },
      notes: [
        'wall time of the whole CLI process: Node and jiti start-up, loading the SDK and the definitions count, as they do for a user',
        ...sizes.map((size) => {
          const { wallMs, awaitingMs } = counts.get(size)!;
          return `${size} images (last round): ${wallMs.toFixed(0)} ms, of which ${awaitingMs.toFixed(0)} ms with at least one AWS answer outstanding (the emulator's part) and ${(wallMs - awaitingMs).toFixed(0)} ms with none (gild alone: start-up, definitions, fingerprints, plan, report)`;
        }),
        "the AWS answers' own times (summed, most run side by side) are in the calls note: moto's DescribeSnapshots and DescribeImages walk every snapshot and AMI it holds, and GetParametersByPath pages (10 a call) follow one another",
        "where the rest goes (profiled with --cpu-prof at 100 images, load ~10): gild's own part is start-up (Node, the SDK and the engine's modules, ~1.5-2 s under that load), loading the definitions, fingerprinting (rendering every image's template, ~0.1 s CPU) and assembling the plan (~0.1 s)",
        "moto's part: it holds ~1,280 snapshots per region, all owned by the account (one per built-in AMI), and its DescribeSnapshots filters every one of them by tag (0.6-1.7 s for no match), its DescribeImages walks every AMI (~1 s); while they run they hold moto's lock, so the 31 parameter pages per region (300 parameters: versions/1.0.0, latest and v1 of each image; 10 a page is AWS's maximum, each page needs the last one's token) take 0.2-1 s each instead of 20-40 ms",
      ],
    },
  ];
}
