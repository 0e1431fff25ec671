/**
 * How much does gild add to Packer? Twelve images in a three-level dependency
 * graph (four on Amazon Linux, four built on those, four on the second level),
 * each copied to two more regions and smoke-tested with one check. One
 * variant is `gild run --force` as a user runs it (the CLI, against moto);
 * the other is Packer alone on the same templates (rendered by `gild render`
 * for the emulator), `packer build` level by level, as many at once as gild's
 * concurrency. Interleaved, every trial on an empty emulator, warmed; the
 * target is gild within 1.10× of Packer alone.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { describeGildSnapshots, describeImages } from '../../src/adapters/ec2.ts';
import { getParameter, getParameters } from '../../src/adapters/ssm.ts';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import type { MotoServer } from '../support/moto.ts';
import { createTempProject, imageSource, repoRoot, type TempProject } from '../support/project.ts';
import type { BenchmarkResult } from './benchmark.ts';
import { interleave, type Variant } from './measure.ts';

const width = 4;
const levels = 3;
const rounds = 3;
const targetRatio = 1.1;
const buildRegion = 'us-east-1';
const copyRegions = ['us-west-2', 'eu-west-1'];
const regions = `{ build: '${buildRegion}', copies: [${copyRegions.map((region) => `'${region}'`).join(', ')}] }`;
/** What gild's emulator preparation stands in for a base built by gild (moto's own AMIs cannot be a Packer source). */
const standInParameter = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

const imageName = (level: number, index: number) => `fleet-l${level}-${String.fromCharCode(97 + index)}`;

function fleetImages(): Record<string, string> {
  const images: Record<string, string> = {};
  for (let level = 1; level <= levels; level++) {
    for (let index = 0; index < width; index++) {
      const name = imageName(level, index);
      images[`${name}.ts`] = imageSource({
        name,
        regions,
        ...(level > 1 ? { base: `{ image: '${imageName(level - 1, index)}' }` } : {}),
        extra: "smoke: { checks: [{ name: 'answers', run: 'true' }] },",
      });
    }
  }
  return images;
}

export async function createFleetProject(): Promise<TempProject> {
  const settings = (await readFile(path.join(repoRoot, 'pipeline/settings.ts'), 'utf8')).replace(/concurrency: \d+/, `concurrency: ${width}`);
  if (!settings.includes(`concurrency: ${width}`)) throw new Error('pipeline/settings.ts has no concurrency line for the fleet bench to set');
  return createTempProject({ images: fleetImages(), settings });
}

export async function benchmarkFleetVsPacker(moto: MotoServer, defer: (cleanup: () => Promise<void>) => void): Promise<BenchmarkResult> {
  const project = await createFleetProject();
  defer(() => project.remove());
  const env = { ...moto.env, CI: 'true' };

  // Packer alone builds the templates gild renders for the emulator, from the AMI gild stands in for every base.
  await moto.reset();
  const aws = createAwsClients(moto.env);
  const standIn = await getParameter(aws.ssm('us-east-1'), standInParameter).finally(() => aws.destroy());
  if (!standIn) throw new Error(`moto has no ${standInParameter}`);
  const folders: string[][] = [];
  for (let level = 1; level <= levels; level++) {
    folders.push(
      await Promise.all(
        Array.from({ length: width }, async (_, index) => {
          const out = path.join(project.dir, 'packer-alone', imageName(level, index));
          const rendered = await project.gild(['render', imageName(level, index), '--out', out, '--base-ami', standIn.value, '--local-endpoint', moto.endpoint], env);
          if (rendered.exitCode !== 0) throw new Error(`gild render ${imageName(level, index)} failed: ${rendered.stderr}`);
          return out;
        }),
      ),
    );
  }

  // NOTE: after a reset moto builds each region's EC2 and SSM state on its first request there, loading its ~1,180
  // built-in AMIs (a snapshot each) and the public parameters: 1 to 5 s a region, one region at a time. gild asks all
  // three regions first thing and would pay all of it before its first build, Packer alone as it goes; AWS has no
  // such cost. Each trial therefore starts on an emulator whose regions have answered once, outside the timing.
  const resetAndWarm = async () => {
    await moto.reset();
    const clients = createAwsClients(moto.env);
    try {
      await Promise.all(
        [buildRegion, ...copyRegions].map(async (region) => {
          await getParameters(clients.ssm(region), [standInParameter]);
          await describeImages(clients.ec2(region), { filters: [{ Name: 'tag-key', Values: ['gild:image'] }] });
          await describeGildSnapshots(clients.ec2(region));
        }),
      );
    } finally {
      clients.destroy();
    }
  };

  const phases = { gild: '' };
  const variants: Variant<void>[] = [
    {
      name: 'packer build, level by level',
      prepare: resetAndWarm,
      async run() {
        for (const level of folders) {
          await Promise.all(
            level.map(async (dir) => {
              const result = await execa('packer', ['build', '-machine-readable', '.'], { cwd: dir, env, reject: false });
              if (result.exitCode !== 0) throw new Error(`packer build in ${dir} failed:\n${String(result.stdout).slice(-2000)}`);
            }),
          );
        }
      },
    },
    {
      name: 'gild run --force',
      prepare: resetAndWarm,
      async run() {
        const startedAt = Date.now();
        const result = await project.gild(['run', '--force'], env);
        const endedAt = Date.now();
        const published = (result.stdout.match(/published/g) ?? []).length;
        if (result.exitCode !== 0 || published < width * levels)
          throw new Error(`gild run --force did not publish all ${width * levels} images (exit ${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
        phases.gild = await stepTimes(project.dir, startedAt, endedAt);
      },
    },
  ];
  const [packer, gild] = await interleave(variants, rounds, { warmup: true });
  const ratio = gild!.medianMs / packer!.medianMs;
  return {
    name: 'fleet-vs-packer',
    title: `${width * levels} images, ${levels}-level dependency graph, 2 copy regions, concurrency ${width}, against moto (${rounds} rounds)`,
    variants: [packer!, gild!],
    ratio: { label: 'gild / Packer alone', value: ratio, target: `≤ ${targetRatio}×`, met: ratio <= targetRatio },
    notes: [
      `gild (last round): ${phases.gild}`,
      'gild also smoke-tests (launch, one check, the package manifest, terminate) and publishes each image before the images built on it start; Packer alone does neither',
      "where the rest goes, per dependency level on the critical path: the smoke test's check of the AMI, its launch, readiness, check and manifest (together), then the tag `tested`; share's check of the AMI, then its description and grants (together, every region at once); publish's check of the AMIs and of the lock (together), then the versions and the pointers (each group together); then the dependant's check of its versions and its security group. The termination, the build's security group and the tag `published` settle off the path. Before the first step, once: start-up (the engine's modules, with the definitions' loader and `packer version` beside them), the emulator's preparation, and observation beside the fingerprints (the part that grows most with the machine's load)",
    ],
  };
}

/**
 * Where the newest run's time went. Each image's log stamps the start of every step (`<kind>:<image>: <title> —
 * <reason>`); a step lasts until the image's next step starts, or its last stamped line. Time between taking the
 * lock and building is waiting for the base image. Before the first step: start-up, observation and planning.
 */
async function stepTimes(dir: string, startedAt: number, endedAt: number): Promise<string> {
  const runs = path.join(dir, '.gild', 'runs');
  const folders = await readdir(runs);
  const newest = (await Promise.all(folders.map(async (folder) => ({ folder, at: (await stat(path.join(runs, folder))).mtimeMs })))).sort((a, b) => b.at - a.at)[0];
  if (!newest) return '(no run folder)';
  const byKind = new Map<string, number>();
  let first = Infinity;
  let last = 0;
  for (const file of (await readdir(path.join(runs, newest.folder))).filter((name) => name.endsWith('.log'))) {
    const stamped = (await readFile(path.join(runs, newest.folder, file), 'utf8'))
      .split('\n')
      .map((line) => ({ at: Date.parse(line.slice(0, 24)), step: /^\S+ \w+ ([a-z]+):[a-z0-9-]+(?::\S*)?: /.exec(line)?.[1] }))
      .filter((line) => Number.isFinite(line.at));
    const starts = stamped.filter((line) => line.step !== undefined);
    const end = stamped.at(-1)?.at ?? 0;
    first = Math.min(first, starts[0]?.at ?? Infinity);
    last = Math.max(last, end);
    for (const [index, start] of starts.entries()) {
      const kind = start.step === 'lock' ? 'lock + waiting for the base' : start.step!;
      byKind.set(kind, (byKind.get(kind) ?? 0) + ((starts[index + 1]?.at ?? end) - start.at));
    }
  }
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return [
    `before the first step ${seconds(first - startedAt)}, after the last ${seconds(endedAt - last)}`,
    `summed over images: ${[...byKind]
      .sort((a, b) => b[1] - a[1])
      .map(([kind, ms]) => `${kind} ${seconds(ms)}`)
      .join(', ')}`,
  ].join('; ');
}
