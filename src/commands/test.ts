/**
 * `gild test <image>`: the developer's loop, with no AWS account. Builds the image's container twin with Packer (the
 * image's own provisioner blocks, in a container of its OS), runs each smoke check in a fresh container of the twin
 * as AWS-RunShellScript would (a script run by `sh`, the exit code, the check's timeout, AWS's output limits), prints
 * each verdict with its output, and the package diff against the published version's SBOM in the evidence bucket
 * (settings `evidence`), or else the newest manifest kept on this machine. Exit 1 when the provisioning or a check fails.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compactTimestamp } from '../compact-timestamp.ts';
import type { ResolvedImage } from '../definition/resolved-image.ts';
import type { SmokeCheck } from '../definition/schema.ts';
import { catalogue } from '../errors.ts';
import { describeManifestDiff, diffManifests } from '../smoke/diff-manifests.ts';
import { evaluateCheck } from '../smoke/evaluate-check.ts';
import { readPreviousManifest } from '../smoke/package-manifest.ts';
import { renderTwin, twinBaseOf, twinTag } from '../target/container-twins.ts';
import { twinCommandExecution } from '../target/command-execution.ts';
import { readPublishedManifest } from '../local/published-evidence.ts';
import { createIoLogger, type Io } from './io.ts';
import { loadProject, selectImages } from './load-project.ts';
import { escapeRegExp } from '../escape-regexp.ts';

export interface TestOptions {
  readonly image: string;
  /** Leave the twin image and a running container of it, for a shell. */
  readonly keep: boolean;
}

export interface TwinCheckResult {
  readonly name: string;
  readonly outcome: 'passed' | 'failed' | 'timed-out' | 'skipped';
  readonly reason: string | undefined;
  readonly status: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface TwinTestReport {
  readonly image: string;
  readonly version: string;
  readonly twin: string;
  readonly engine: string;
  readonly build: { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly output: readonly string[] };
  readonly checks: readonly TwinCheckResult[];
  /** `comparedFrom`: the published version's SBOM in the evidence bucket (its s3:// URL), or `this machine`'s manifests. */
  readonly packages: { readonly count: number; readonly comparedWith: string | undefined; readonly comparedFrom: string | undefined; readonly diff: readonly string[] } | undefined;
  readonly result: 'passed' | 'failed';
}

/** AWS's limits on GetCommandInvocation's output (the SSM stand-in keeps the same). */
const stdoutLimit = 24_000;
const stderrLimit = 8_000;

/** The provisioning's own output from Packer's machine-readable log: what the twin's scripts printed, errors included. */
/**
 * The images whose twins `gild test` builds, base first: an image built on another gild image (without a
 * `containerImage` of its own) starts from its base's twin, as it does in a run; the first starts from a container image.
 */
export function twinChainOf(image: ResolvedImage, all: readonly ResolvedImage[]): { readonly images: readonly ResolvedImage[]; readonly containerImage: string } | { readonly none: string } {
  const images: ResolvedImage[] = [image];
  for (let current = image; current.base.kind === 'image' && !current.containerImage;) {
    const baseName = current.base.image;
    const base = all.find((candidate) => candidate.name === baseName);
    if (!base) return { none: `its base image "${baseName}" is not defined in this project` };
    if (images.includes(base)) return { none: `its bases form a cycle through "${baseName}"` };
    images.unshift(base);
    current = base;
  }
  const root = twinBaseOf(images[0]!);
  if (root.kind === 'none') return { none: images.length > 1 ? `its base "${images[0]!.name}" has none (${root.reason})` : root.reason };
  return { images, containerImage: root.containerImage };
}

function provisioningOutput(log: string, sourceName: string): string[] {
  const prefix = new RegExp(`^\\d+,,ui,(?:error|message),(?:==> |    )docker\\.${escapeRegExp(sourceName)}: (.*)$`);
  const lines: string[] = [];
  for (const line of log.split('\n')) {
    const match = prefix.exec(line);
    if (match) lines.push(match[1]!.replaceAll('%!(PACKER_COMMA)', ','));
  }
  return lines.filter((line) => !/^Emulate Docker CLI using podman/.test(line)).slice(-40);
}

export async function test(options: TestOptions, io: Io): Promise<number> {
  const logger = createIoLogger(io);
  const project = await loadProject(io.cwd);
  for (const warning of project.warnings) logger.warn(warning);
  const [image] = selectImages(project.images, [options.image]) as [ResolvedImage];
  // An image built on another gild image: its twin starts from its base's, so the chain's twins are built in order.
  const chain = twinChainOf(image, project.images);
  if ('none' in chain) throw catalogue.EUSAGE(`${image.file}: image "${image.name}" has no container twin: ${chain.none}. gild test runs an image's provisioning and checks in its container twin.`);
  const containerImage = chain.containerImage;

  const [{ findContainerEngine, lookUpLocalImage, runScriptInContainer }, { packerBuild }, { execa }, { readLogTail }] = await Promise.all([
    import('../local/container-engine.ts'),
    import('../adapters/packer.ts'),
    import('execa'),
    import('../report/read-log-tail.ts'),
  ]);
  const search = await findContainerEngine(io.env.PATH ?? '');
  if (!search.found) throw catalogue.EUSAGE(`gild test needs Docker or Podman, and none answered (${search.tried.join('; ')}). Install one and the base image: bash .ci/setup-containers.sh`);
  const engine = search.found;
  logger.info(`container engine: ${engine.kind} ${engine.version} (${engine.binary})`);
  const base = await lookUpLocalImage(engine, containerImage);
  if (base.problem) {
    throw catalogue.EUSAGE(
      `${chain.images[0]!.file}: the twin of "${chain.images[0]!.name}" starts from ${containerImage}, and ${engine.kind} could not say whether it is present: ${base.problem}. Fix the engine (podman info shows its store and runtime), then run gild test again.`,
    );
  }
  if (!base.present) {
    throw catalogue.EUSAGE(
      `${chain.images[0]!.file}: the twin of "${chain.images[0]!.name}" starts from ${containerImage}, which is not present locally (gild never pulls). Make it (for debian:12: bash .ci/setup-containers.sh) or name another with containerImage.`,
    );
  }

  const runId = `test-${compactTimestamp(new Date())}-${Math.random().toString(36).slice(2, 6)}`;
  const dir = path.join(io.cwd, '.gild', 'test', runId);
  await mkdir(dir, { recursive: true });
  const { renderTwinTemplate } = await import('../render/render-twin-template.ts');
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  /** The bases' twins this test built on the way: removed at the end, like the image's own unless --keep. */
  const baseTwins: string[] = [];
  let reference = '';
  try {
    const reportFile = path.join(dir, `${image.name}.test.json`);
    let source = containerImage;
    for (const link of chain.images) {
      const twin = renderTwin(link, { containerImage: source, version: link.version, runId });
      reference = twinTag(link.name, link.version, runId).reference;
      // NOTE: one folder per twin: Packer loads every *.pkr.hcl of a folder.
      const linkDir = link === image ? dir : path.join(dir, 'bases', link.name);
      await mkdir(linkDir, { recursive: true });
      await renderTwinTemplate(link, twin, linkDir);
      const logFile = path.join(dir, `${link.name}.log`);
      logger.info(`building the container twin of ${link.name} ${link.version} from ${source} (log: ${path.relative(io.cwd, logFile)})`);
      const built = await packerBuild({
        dir: linkDir,
        logFile,
        env: { ...io.env, PATH: [engine.dockerShimDir, io.env.PATH].filter(Boolean).join(path.delimiter) },
        signal: controller.signal,
        expectAmis: false,
      });
      if (!built.ok) {
        // NOTE: the end of the log only (a looping provisioner writes hundreds of MiB): the last 40 provisioning lines are in it.
        const tail = await readLogTail(logFile, { lines: Number.MAX_SAFE_INTEGER, maxBytes: 256 * 1024 }).catch(() => undefined);
        const output = provisioningOutput(tail?.lines.join('\n') ?? '', twin.sourceName);
        const what = link === image ? `in the twin of ${image.name}` : `in the twin of its base ${link.name}`;
        const report: TwinTestReport = {
          image: image.name,
          version: image.version,
          twin: reference,
          engine: `${engine.kind} ${engine.version}`,
          build: { ok: false, reason: `${link === image ? '' : `${link.name}: `}${built.reason}`, output },
          checks: [],
          packages: undefined,
          result: 'failed',
        };
        await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
        io.stdout(`✖ provisioning failed ${what}: ${built.reason}\n${output.map((line) => `    ${line}\n`).join('')}Report: ${path.relative(io.cwd, reportFile)}\n`);
        return 1;
      }
      if (link !== image) {
        baseTwins.push(reference);
        io.stdout(`✔ provisioning of the base ${link.name} ran in its twin: ${reference}\n`);
      }
      source = reference;
    }
    io.stdout(`✔ provisioning ran in the twin: ${reference}\n`);

    const checks: TwinCheckResult[] = [];
    for (const check of image.smoke.checks) {
      const result = await runCheck(check);
      checks.push(result);
      const mark = result.outcome === 'passed' ? '✔' : result.outcome === 'skipped' ? '–' : '✖';
      io.stdout(`${mark} ${check.name}: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}\n`);
      for (const [stream, text] of [
        ['stdout', result.stdout],
        ['stderr', result.stderr],
      ] as const) {
        if (text.trim()) io.stdout(`    ${stream}: ${text.trimEnd().split('\n').slice(-10).join('\n      ')}\n`);
      }
    }

    const manifestRun = await runScriptInContainer(engine, reference, `${image.packageManifestCommand}\n`, { timeoutMs: image.smoke.checkTimeoutSeconds * 1000 });
    let packages: TwinTestReport['packages'];
    if (manifestRun.exitCode === 0) {
      const manifest = manifestRun.stdout;
      // NOTE: the published version's SBOM (what consumers run) comes first; this machine's manifests only without one.
      const published = await readPublishedManifest({ env: io.env, settings: project.settings }, image);
      if (published && 'unavailable' in published) logger.warn(`packages: not compared with the published version: ${published.unavailable}`);
      const stored = published && 'text' in published ? published : undefined;
      const previous = stored ?? (await readPreviousManifest(path.join(io.cwd, '.gild'), image.name, undefined, '999999999.0.0'));
      const comparedFrom = stored ? stored.from : previous ? 'this machine' : undefined;
      const diff = previous ? describeManifestDiff(diffManifests(previous.text, manifest), previous.version) : [];
      packages = { count: manifest.split('\n').filter((line) => line.trim()).length, comparedWith: previous?.version, comparedFrom, diff };
      await writeFile(path.join(dir, `${image.name}.packages.txt`), manifest);
      io.stdout(
        `packages: ${packages.count}${previous ? ` (compared with ${previous.version}${stored ? `, published: ${stored.from}` : ', kept on this machine'})` : ' (no published SBOM or earlier manifest on this machine to compare with)'}\n${diff.map((line) => `    ${line}\n`).join('')}`,
      );
    } else {
      io.stdout(`packages: could not list them in the twin (${image.packageManifestCommand} exited ${manifestRun.exitCode}: ${manifestRun.stderr.trim().slice(0, 300)})\n`);
    }

    const failed = checks.some((check) => check.outcome === 'failed' || check.outcome === 'timed-out');
    const report: TwinTestReport = {
      image: image.name,
      version: image.version,
      twin: reference,
      engine: `${engine.kind} ${engine.version}`,
      build: { ok: true },
      checks,
      packages,
      result: failed ? 'failed' : 'passed',
    };
    await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    if (options.keep) {
      const container = `gild-test-${image.name}-${runId}`.replace(/[^A-Za-z0-9_.-]/g, '-');
      await execa(engine.binary, ['run', '-d', '--name', container, '--entrypoint', 'sleep', reference, 'infinity'], { stdin: 'ignore' });
      io.stdout(`kept: ${engine.kind} exec -it ${container} sh   (remove with: ${engine.kind} rm -f ${container} && ${engine.kind} rmi ${[reference, ...[...baseTwins].reverse()].join(' ')})\n`);
    } else {
      await execa(engine.binary, ['rmi', reference], { reject: false, stdin: 'ignore' });
    }
    io.stdout(
      `${failed ? '✖' : '✔'} ${image.name} ${image.version}: ${checks.filter((check) => check.outcome === 'passed').length} passed, ${checks.filter((check) => check.outcome === 'failed' || check.outcome === 'timed-out').length} failed, ${checks.filter((check) => check.outcome === 'skipped').length} skipped. Report: ${path.relative(io.cwd, reportFile)}\n`,
    );
    return failed ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // The bases' twins were only the way to this one: gone unless --keep kept a container that stands on them.
    if (!options.keep && baseTwins.length > 0) await execa(engine.binary, ['rmi', ...[...baseTwins].reverse()], { reject: false, stdin: 'ignore' });
  }

  async function runCheck(check: Readonly<SmokeCheck>): Promise<TwinCheckResult> {
    const started = Date.now();
    const skipped = twinCommandExecution.skipReason(check);
    if (skipped) return { name: check.name, outcome: 'skipped', reason: skipped, status: 'NotSent', exitCode: -1, stdout: '', stderr: '', durationMs: 0 };
    const timeoutSeconds = check.timeoutSeconds ?? image.smoke.checkTimeoutSeconds;
    const commands = typeof check.run === 'string' ? [check.run] : check.run;
    const ran = await runScriptInContainer(engine, reference, commands.map((command) => `${command}\n`).join(''), { timeoutMs: timeoutSeconds * 1000, signal: controller.signal });
    const status = ran.timedOut ? 'TimedOut' : ran.cancelled ? 'Cancelled' : ran.exitCode === 0 ? 'Success' : 'Failed';
    const invocation = { status, exitCode: ran.exitCode, stdout: ran.stdout.slice(0, stdoutLimit), stderr: ran.stderr.slice(0, stderrLimit) };
    const durationMs = Date.now() - started;
    if (ran.timedOut) return { name: check.name, outcome: 'timed-out', reason: `did not finish within its ${timeoutSeconds}s timeout`, ...invocation, durationMs };
    const evaluation = evaluateCheck(check, invocation);
    return { name: check.name, outcome: evaluation.outcome, reason: evaluation.outcome === 'failed' ? evaluation.reason : undefined, ...invocation, durationMs };
  }
}
