/**
 * What does a nightly run cost when nothing changed? 25, 50 and 100 images,
 * each published (versions/1.0.0, latest and v1 in its build region and one copy
 * region, on AMIs tagged as gild tags them, with today's fingerprint and
 * base), then `gild run` as a user runs it: the CLI in its own process,
 * against moto behind the counting proxy, which pages answers as AWS does.
 * Targets: at most 2 AWS calls per image plus a constant, and 100 images in
 * under 1.5 s of wall time, judged on emulators that hold gild's AMIs only
 * (see Catalogue); 100 images on moto with its built-in AMIs run beside them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { CreateImageCommand, RunInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import semver from 'semver';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { getParameter, putImageParameter } from '../../src/adapters/ssm.ts';
import { loadProject } from '../../src/commands/load-project.ts';
import type { Context } from '../../src/context.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import { fingerprintImages } from '../../src/observe/local-inputs.ts';
import { latestParameterName, majorParameterName, versionParameterName } from '../../src/plan/parameter-names.ts';
import { startCountingProxy, timeAwaitingAnswers, type CountingProxy } from '../support/counting-proxy.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, type TempProject } from '../support/project.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { interleave, median, type Variant, type VariantResult } from './measure.ts';

const sizes = [25, 50, 100] as const;
const largest = 100;
const buildRegion = 'us-east-1';
const copyRegion = 'us-west-2';
const rounds = 5;
const maxCallsPerImage = 2;
const maxLargestMs = 1500;
/** gild's own part of a no-op run over the largest fleet: wall time with no AWS answer outstanding (issue 21). */
const maxOwnMs = 500;
/** gild's own CPU time per image added, in a no-op run (issue 21). */
const maxCpuMsPerImage = 10;
const cpuReporter = fileURLToPath(new URL('./report-cpu-child.mjs', import.meta.url));
/** The AMI moto resolves al2023 to: the base every seeded image was "built" on. */
const baseParameter = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
/** Parallel seeding calls; moto serves them on threads. */
const seedConcurrency = 10;

/**
 * Which AMIs the emulator holds besides gild's. moto loads about 1,180 built-in AMIs per region (Amazon's ECS and
 * Amazon Linux images) and counts their snapshots as the account's own, so every DescribeSnapshots and DescribeImages
 * it answers walks them all, holding its lock (O(snapshots × tags) for a tag filter: about 1 s per region with 100
 * images). An account on AWS owns none of Amazon's snapshots: `account` starts moto with an empty catalogue
 * (MOTO_AMIS_PATH naming an empty list), so that it holds gild's AMIs only, as a golden-image account does; the base
 * parameter still names an AMI, which moto does not check when launching the seed instance. `moto` keeps the
 * built-ins, to show their cost side by side.
 */
export type Catalogue = 'account' | 'moto';

export interface Fleet {
  readonly size: number;
  readonly catalogue: Catalogue;
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
export interface FleetShape {
  /** Published versions older than the definition's (0.1.0, 0.2.0, …), kept by retention (keep 3), per image and region. */
  readonly olderVersions?: number;
  /** AMIs the account owns that gild did not make (other teams'), in the build region. */
  readonly otherAmis?: number;
}

export async function createFleet(size: number, catalogue: Catalogue = 'account', shape: FleetShape = {}): Promise<Fleet> {
  const images: Record<string, string> = {};
  for (let index = 1; index <= size; index++) {
    const name = `noop-${String(index).padStart(3, '0')}`;
    images[`${name}.ts`] = imageSource({ name, regions: `{ build: '${buildRegion}', copies: ['${copyRegion}'] }` });
  }
  const project = await createTempProject({ images });
  const loaded = await loadProject(project.dir);
  // The run targets the emulator, whose rendering (and so fingerprint) differs from AWS's: compute it the same way.
  const fingerprints = await fingerprintImages({ cwd: project.dir, target: emulatorProfile({ endpoint: 'http://emulator' }) } as unknown as Context, loaded.images);
  let moto: MotoServer;
  if (catalogue === 'account') {
    const emptyCatalogue = path.join(project.dir, 'no-built-in-amis.json');
    await writeFile(emptyCatalogue, '[]');
    moto = await startMoto({ env: { MOTO_AMIS_PATH: emptyCatalogue } });
  } else moto = await startMoto();
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
        for (let older = 1; older <= (shape.olderVersions ?? 0); older++) {
          const version = `0.${older}.0`;
          const olderTags = tags.map((tag) => (tag.Key === 'gild:version' ? { ...tag, Value: version } : tag.Key === 'gild:fingerprint' ? { ...tag, Value: `older-${older}` } : tag));
          const made = await aws
            .ec2(region)
            .send(new CreateImageCommand({ InstanceId: instances[region]!, Name: `${image.name}-${version}`, TagSpecifications: [{ ResourceType: 'image', Tags: olderTags }] }));
          await putImageParameter(aws.ssm(region), versionParameterName('/golden', image.name, version), made.ImageId!, { overwrite: false });
          await putImageParameter(aws.ssm(region), majorParameterName('/golden', image.name, 0), made.ImageId!, { overwrite: true });
        }
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
    await inBatches(
      Array.from({ length: shape.otherAmis ?? 0 }, (_, index) => index),
      seedConcurrency,
      async (index) =>
        void (await aws
          .ec2(buildRegion)
          .send(new CreateImageCommand({ InstanceId: instances[buildRegion]!, Name: `other-team-${index}`, TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'team', Value: 'other' }] }] }))),
    );
  } finally {
    aws.destroy();
  }
  return { size, catalogue, moto, proxy, project };
}

export async function benchmarkNoOpRun(_moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult[]> {
  // Each fleet gets its own moto and project, so that no size pays for another's parameters and AMIs. The targets
  // are judged on account-shaped emulators; the last fleet, with moto's built-in AMIs too, shows what they cost.
  const setups = [...sizes.map((size) => ({ size, catalogue: 'account' as const })), { size: largest, catalogue: 'moto' as const }];
  const seedStarted = performance.now();
  const fleets: Fleet[] = [];
  for (const { size, catalogue } of setups) {
    const fleet = await createFleet(size, catalogue);
    fleets.push(fleet);
    defer(async () => {
      await fleet.proxy.stop();
      await fleet.moto.stop();
      await fleet.project.remove();
    });
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  const loads: number[] = [];
  const counts = new Map<Fleet, { calls: number; byAction: string; wallMs: number; awaitingMs: number; cpuMs: number[]; ownMs: number[] }>();
  const variants: Variant<void>[] = fleets.map((fleet) => ({
    name: fleet.catalogue === 'account' ? `${fleet.size} images` : `${fleet.size} images, moto's built-in AMIs too`,
    prepare: async () => {
      loads.push(os.loadavg()[0]!);
      fleet.proxy.reset();
    },
    async run() {
      const started = performance.now();
      // The CLI's own CPU time (user + system, every thread), written by the process itself as it exits.
      const cpuFile = path.join(tmpdir(), `gild-bench-cpu-${process.pid}-${fleet.size}-${fleet.catalogue}.txt`);
      const result = await fleet.project.gild(['run'], { ...fleet.proxy.env(fleet.moto.env), NODE_OPTIONS: `--import=${cpuReporter}`, GILD_BENCH_CPU_FILE: cpuFile });
      const wallMs = performance.now() - started;
      const cpuMs = Number(await readFile(cpuFile, 'utf8'));
      const unchanged = (result.stdout.match(/unchanged/g) ?? []).length;
      if (result.exitCode !== 0 || unchanged < fleet.size) throw new Error(`the no-op run over ${fleet.size} images was not a no-op (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
      const byAction = new Map<string, { count: number; ms: number }>();
      for (const call of fleet.proxy.calls) {
        const sum = byAction.get(call.action) ?? { count: 0, ms: 0 };
        byAction.set(call.action, { count: sum.count + 1, ms: sum.ms + call.ms });
      }
      const listed = [...byAction].sort((a, b) => b[1].ms - a[1].ms).map(([action, { count, ms }]) => `${action} ${count} (${ms.toFixed(0)} ms)`);
      const awaitingMs = timeAwaitingAnswers(fleet.proxy.calls);
      const previous = counts.get(fleet);
      counts.set(fleet, {
        calls: fleet.proxy.calls.filter((call) => call.service !== 'other').length,
        byAction: listed.join(', '),
        wallMs,
        awaitingMs,
        cpuMs: [...(previous?.cpuMs ?? []), cpuMs],
        ownMs: [...(previous?.ownMs ?? []), wallMs - awaitingMs],
      });
    },
  }));
  const results = await interleave(variants, rounds, { warmup: true });
  const fleetOf = (variant: VariantResult) => fleets[results.indexOf(variant)]!;
  const judged = results.filter((variant) => fleetOf(variant).catalogue === 'account');
  const [smallest, largestFleet] = [fleetOf(judged[0]!), fleetOf(judged.at(-1)!)];
  const callsOf = (fleet: Fleet) => counts.get(fleet)!.calls;
  // Calls per image is the slope between the smallest and the largest fleet; what does not grow is the constant.
  const perImage = (callsOf(largestFleet) - callsOf(smallest)) / (largestFleet.size - smallest.size);
  const constant = callsOf(largestFleet) - perImage * largestFleet.size;
  const largestMs = judged.at(-1)!.medianMs;
  const title = `No-op \`gild run\` (CLI process), every image published and unchanged, build + 1 copy region (${rounds} rounds)`;
  const split = (variant: VariantResult) => {
    const { wallMs, awaitingMs } = counts.get(fleetOf(variant))!;
    return `${variant.name} (last round): ${wallMs.toFixed(0)} ms, of which ${awaitingMs.toFixed(0)} ms with at least one AWS answer outstanding (the emulator's part) and ${(wallMs - awaitingMs).toFixed(0)} ms with none (gild alone: start-up, definitions, fingerprints, plan, report)`;
  };
  // gild's own share: the wall time with no AWS answer outstanding, and the CPU time its process used; per image, the
  // slope between the smallest and the largest fleet (what a start-up costs whatever the fleet is the constant).
  const ownMs = median(counts.get(largestFleet)!.ownMs);
  const cpuPerImage = (median(counts.get(largestFleet)!.cpuMs) - median(counts.get(smallest)!.cpuMs)) / (largestFleet.size - smallest.size);
  const ownNotes = judged.map((variant) => {
    const fleet = fleetOf(variant);
    const { cpuMs, ownMs: own } = counts.get(fleet)!;
    return `${variant.name}: gild's own ${median(own).toFixed(0)} ms of ${variant.medianMs.toFixed(0)} ms wall (the rest awaiting the emulator), CPU ${median(cpuMs).toFixed(0)} ms (${(median(cpuMs) / fleet.size).toFixed(1)} ms per image, start-up included)`;
  });
  return [
    {
      name: 'no-op-own-time',
      title: `${title}: gild's own time (no AWS answer outstanding) and CPU time`,
      variants: judged,
      ratio: {
        label: `${largest} images: gild's own time / ${maxOwnMs} ms`,
        value: ownMs / maxOwnMs,
        target: '< 1×',
        met: ownMs < maxOwnMs,
        shown: `${ownMs.toFixed(0)} ms, ${(ownMs / maxOwnMs).toFixed(2)}×`,
      },
      notes: [
        ...ownNotes,
        `CPU per image added (${smallest.size} → ${largestFleet.size} images): ${cpuPerImage.toFixed(2)} ms, target < ${maxCpuMsPerImage} ms: ${cpuPerImage < maxCpuMsPerImage ? 'PASS' : 'WARN'}`,
        `load average (1 min) at the start of each trial: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
      ],
    },
    {
      name: 'no-op-cpu-per-image',
      title: `${title}: gild's CPU time per image (user + system of the CLI process, slope ${smallest.size} → ${largestFleet.size} images)`,
      variants: judged,
      unit: { label: 'CPU ms', per: (variant) => median(counts.get(fleetOf(variant))!.cpuMs) },
      ratio: {
        label: `CPU ms per image added / ${maxCpuMsPerImage} ms`,
        value: cpuPerImage / maxCpuMsPerImage,
        target: '< 1×',
        met: cpuPerImage < maxCpuMsPerImage,
        shown: `${cpuPerImage.toFixed(2)} ms, ${(cpuPerImage / maxCpuMsPerImage).toFixed(2)}×`,
      },
    },
    {
      name: 'no-op-calls',
      title: `${title}: AWS calls`,
      variants: judged,
      unit: { label: 'calls / image', per: (variant) => callsOf(fleetOf(variant)) / fleetOf(variant).size },
      ratio: { label: `calls per image added, ${smallest.size} → ${largestFleet.size} images`, value: perImage, target: `≤ ${maxCallsPerImage} + a constant`, met: perImage <= maxCallsPerImage },
      notes: [
        `${perImage.toFixed(2)} calls per image + ${constant.toFixed(0)}`,
        ...results.map((variant) => `${variant.name}: ${callsOf(fleetOf(variant))} AWS calls; answers by time (last round): ${counts.get(fleetOf(variant))!.byAction}`),
        `seeding took ${seedSeconds.toFixed(0)} s`,
      ],
    },
    {
      name: 'no-op-time',
      title: `${title}: wall time`,
      variants: results,
      unit: { label: 'ms / image', per: (variant) => variant.medianMs / fleetOf(variant).size },
      ratio: { label: `${largest} images (an emulator holding gild's AMIs only), median / ${maxLargestMs} ms`, value: largestMs / maxLargestMs, target: '< 1×', met: largestMs < maxLargestMs },
      notes: [
        'wall time of the whole CLI process: Node start-up, loading the engine and the definitions count, as they do for a user',
        "judged on emulators holding gild's AMIs only, as a golden-image account does; moto's ~1,180 built-in AMIs per region, whose snapshots it counts as the account's own, are in the last variant only (see Catalogue in test/bench/no-op-run.ts)",
        ...results.map(split),
        "the AWS answers' own times (summed, most run side by side) are in the calls note: moto answers DescribeImages and DescribeSnapshots with a tag filter by walking every AMI or snapshot and, for each, every tag it holds, and serves one request at a time meanwhile; GetParametersByPath pages (10 parameters each, AWS's maximum; 31 per region at 100 images) follow one another, each needing the last one's token",
      ],
    },
  ];
}
