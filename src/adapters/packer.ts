/**
 * The only place gild runs Packer. Every call is `execa('packer', [...args])`
 * (or the absolute path of that same binary, for `packer version`) with an
 * argument array, and the build's results come from Packer's
 * structured output (the manifest file, or `-machine-readable` artifact
 * lines), never from its prose.
 */
import { execa } from 'execa';
import { realpathSync, statSync } from 'node:fs';
import { access, appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { projectCacheDir } from '../engine-location.ts';
import { catalogue } from '../errors.ts';

export interface PackerVersionInfo {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** What `packer version` printed first, e.g. `Packer v1.6.6`. */
  readonly raw: string;
}

export type PackerCheck = { readonly ok: true } | { readonly ok: false; readonly output: string };

export type PackerBuildResult = { readonly ok: true; readonly amis: Record<string, string> } | { readonly ok: false; readonly reason: string };

export interface PackerBuildOptions {
  /** The rendered folder. */
  readonly dir: string;
  /** All of Packer's output is appended here. */
  readonly logFile: string;
  /** False for a build with no amazon source (`gild test` builds only a container twin). */
  readonly expectAmis?: boolean;
  /** The whole environment Packer runs with (AWS credentials, PATH, HOME). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * On abort Packer's whole process group gets SIGINT, so it terminates its
   * instance and deletes its key pair and security group; SIGTERM follows
   * after `graceMs`, and SIGKILL `graceMs` after that.
   */
  readonly signal?: AbortSignal;
  readonly graceMs?: number;
  /** Aborted on a second interrupt: SIGTERM to the group at once, SIGKILL `killAfterMs` later. */
  readonly escalate?: AbortSignal;
  readonly killAfterMs?: number;
  /** Called with the process group's ID once Packer has started (for tests and logs). */
  readonly onStart?: (processGroup: number) => void;
  /**
   * Called as Packer says it is tagging an AMI (`Adding tags to AMI (ami-…)...`, its last step before its cleanup), with
   * that AMI's ID: a hint of when to look, never a result (the caller reads the AMI from AWS). With `ami_regions` Packer
   * tags every region's AMI after every copy, in no set order (Packer 1.6.6 walks a Go map).
   */
  readonly onAmiTagging?: (amiId: string) => void;
  /**
   * Called after every line Packer prints (after `onAmiTagging` for that line). Packer's steps run one after another,
   * so the first line of the step after its tagging (its cleanup's `Terminating the source AWS instance...`) comes only
   * once its CreateTags has answered: the early hand-on looks at the AMI again at each line, not a poll later.
   */
  readonly onLine?: () => void;
}

type Environment = Readonly<Record<string, string | undefined>>;

const isMissingBinary = (error: unknown): boolean => (error as { code?: string } | undefined)?.code === 'ENOENT';

async function runChecked(args: readonly string[], dir: string, env?: Environment): Promise<PackerCheck> {
  try {
    const result = await execa('packer', args, { cwd: dir, reject: false, all: true, ...(env ? { env, extendEnv: false } : {}) });
    if (result.failed && isMissingBinary(result.cause)) throw catalogue.ENOPACKER(result.cause);
    return result.exitCode === 0 ? { ok: true } : { ok: false, output: result.all ?? '' };
  } catch (error) {
    if (isMissingBinary(error)) throw catalogue.ENOPACKER(error);
    throw error;
  }
}

/** Packer's version cannot change while gild runs: asked once per process, not once per image. */
let knownVersion: Promise<PackerVersionInfo> | undefined;

export function packerVersion(): Promise<PackerVersionInfo> {
  knownVersion ??= readPackerVersion();
  // A failure (Packer missing) is not remembered: the caller reports it, and a later call may find it installed.
  knownVersion.catch(() => (knownVersion = undefined));
  return knownVersion;
}

/**
 * The executable a spawn of `packer` would run, found on PATH as the OS finds it (the first executable file named
 * `packer`), and what identifies its contents: real path, size, modification time and inode. Undefined on Windows
 * (PATHEXT) or when none is found, and then nothing is cached.
 */
function packerBinary(searchPath: string | undefined): { readonly file: string; readonly key: string } | undefined {
  if (process.platform === 'win32') return undefined;
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    try {
      const file = realpathSync(path.resolve(dir || '.', 'packer'));
      const stats = statSync(file);
      if (stats.isFile() && (stats.mode & 0o111) !== 0) return { file, key: `${file} ${stats.size} ${stats.mtimeMs} ${stats.ino}` };
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * `packer version` is a Packer start: about 0.3 s of CPU, 140 ms of a no-op run's wall time on the 2-core machine
 * (measured side by side, 7 rounds each). Its first line is kept in `cacheFile` (the project's
 * node_modules/.cache/gild/), keyed by the binary it came from, and Packer is asked again whenever that binary's
 * path, size, modification time or inode differ. The binary found is the one run, so the key is what answered.
 */
export async function readPackerVersion(options: { readonly cacheFile?: string; readonly searchPath?: string | undefined } = {}): Promise<PackerVersionInfo> {
  const cacheFile = options.cacheFile ?? path.join(projectCacheDir('gild'), 'packer-version.json');
  const searchPath = 'searchPath' in options ? options.searchPath : process.env.PATH;
  const binary = packerBinary(searchPath);
  if (binary) {
    try {
      const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as { key?: unknown; raw?: unknown };
      if (cached.key === binary.key && typeof cached.raw === 'string') return parsePackerVersion(cached.raw);
    } catch {
      // no cache yet, or not one gild can read: ask Packer
    }
  }
  let stdout: string;
  try {
    ({ stdout } = await execa(binary?.file ?? 'packer', ['version'], searchPath === undefined ? {} : { env: { PATH: searchPath } }));
  } catch (error) {
    throw catalogue.ENOPACKER(error);
  }
  const version = parsePackerVersion(stdout.split('\n')[0]?.trim() ?? '');
  if (binary) {
    // NOTE: best effort: a read-only project only asks Packer every time.
    await mkdir(path.dirname(cacheFile), { recursive: true })
      .then(() => writeFile(cacheFile, `${JSON.stringify({ key: binary.key, raw: version.raw })}\n`))
      .catch(() => undefined);
  }
  return version;
}

function parsePackerVersion(raw: string): PackerVersionInfo {
  // NOTE: semver finds the version in `Packer v1.6.6`, `Packer v1.11.2-dev` or a bare `1.9.4`.
  const version = semver.coerce(raw);
  if (!version) throw catalogue.ENOPACKER(new Error(`\`packer version\` printed "${raw}", which has no version number`));
  return { major: version.major, minor: version.minor, patch: version.patch, raw };
}

export function packerValidate(dir: string, env?: Environment): Promise<PackerCheck> {
  return runChecked(['validate', '.'], dir, env);
}

export function packerFmtCheck(dir: string): Promise<PackerCheck> {
  return runChecked(['fmt', '-check', '-diff', '.'], dir);
}

/** Machine-readable output escapes commas and newlines inside a field. */
function decodeField(field: string): string {
  return field.replaceAll('%!(PACKER_COMMA)', ',').replaceAll('\\n', '\n').replaceAll('\\r', '\r');
}

/** `us-east-1:ami-1,us-west-2:ami-2` → { 'us-east-1': 'ami-1', 'us-west-2': 'ami-2' } */
function parseArtifactId(artifactId: string): Record<string, string> {
  const amis: Record<string, string> = {};
  for (const pair of artifactId.split(',')) {
    const [region, amiId] = pair.trim().split(':');
    // NOTE: only AMIs: a container twin's artifact (an image ID, or `repository:tag`) shares the manifest.
    if (region && amiId?.startsWith('ami-')) amis[region] = amiId;
  }
  return amis;
}

const amiTaggingPattern = /^==> [^:]*: Adding tags to AMI \((ami-[0-9a-f]+)\)\.\.\.$/;

/**
 * The AMI a `-machine-readable` line says Packer is about to tag (`…,ui,say,==> amazon-ebs.x: Adding tags to AMI
 * (ami-…)...`, Packer 1.6 to 1.11 and the amazon plugin alike), or undefined. Only a `ui,say` line counts: a
 * provisioner's own output is `ui,message`, so a build script that prints the same words is never taken for it.
 */
export function amiTaggingIn(line: string): string | undefined {
  const fields = line.split(',');
  if (fields[2] !== 'ui' || fields[3] !== 'say') return undefined;
  return amiTaggingPattern.exec(decodeField(fields.slice(4).join(',')).trim())?.[1];
}

/** The region → AMI map from `-machine-readable` lines like `…,amazon-ebs.web,artifact,0,id,us-east-1:ami-…`. */
export function parseArtifactLines(text: string): Record<string, string> {
  const amis: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(',');
    if (fields[2] === 'artifact' && fields[4] === 'id') Object.assign(amis, parseArtifactId(decodeField(fields.slice(5).join(','))));
  }
  return amis;
}

/** The manifest post-processor appends one entry per build; only this run's entries count. */
export function parseManifest(text: string): Record<string, string> {
  const manifest = JSON.parse(text) as { builds?: { artifact_id?: string; packer_run_uuid?: string }[]; last_run_uuid?: string };
  const builds = (manifest.builds ?? []).filter((build) => manifest.last_run_uuid === undefined || build.packer_run_uuid === manifest.last_run_uuid);
  return Object.assign({}, ...builds.map((build) => parseArtifactId(build.artifact_id ?? '')));
}

/**
 * Why a build failed, from the last error Packer reported: a build's own
 * `<target>,error,<message>` line, else the last `ui,error` line.
 */
export function failureReason(text: string, exitCode: number | undefined): string {
  let buildError: string | undefined;
  let uiError: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(',');
    if (fields[2] === 'error' && fields[1]) buildError = decodeField(fields.slice(3).join(','));
    if (fields[2] === 'ui' && fields[3] === 'error') {
      const message = decodeField(fields.slice(4).join(',')).trim();
      if (message && !message.startsWith('==> Some builds')) uiError = message;
    }
  }
  const message = buildError ?? uiError ?? text.trim().split('\n').at(-1) ?? '';
  const oneLine = message
    .split('\n')
    .map((part) => part.trim())
    .filter(Boolean)
    .join('; ');
  const denied = deniedActionInPackerError(message);
  if (denied) return `the pipeline's credentials are not allowed to call ${denied}; attach the policy \`gild iam-policy\` prints. Packer said: ${oneLine}`;
  return oneLine || `packer exited with code ${exitCode ?? 'unknown'}`;
}

const deniedPattern = /not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)/;

/**
 * The IAM action an AWS refusal in Packer's error names. AWS writes it in the
 * message; when Packer's SDK could not parse the refusal (moto answers EC2
 * denials in a shape the Go SDK does not expect) it prints the body as a hex
 * dump, whose text column still holds the message.
 */
export function deniedActionInPackerError(message: string): string | undefined {
  const plain = deniedPattern.exec(message)?.[1];
  if (plain) return plain;
  const dumped = [...message.matchAll(/^\s*[0-9a-f]{8}\s+(?:[0-9a-f]{2}\s+)+\|(.{1,16})\|/gm)].map((match) => match[1]).join('');
  return deniedPattern.exec(dumped)?.[1];
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Runs Packer and returns what it printed. Everything it prints is appended to the log as it prints it (execa writes
 * both streams to the file while keeping them), so a log being followed shows the build live.
 */
async function runLogged(
  args: readonly string[],
  options: PackerBuildOptions,
  watch: Pick<PackerBuildOptions, 'onAmiTagging' | 'onLine'> = {},
): Promise<{ stdout: string; stderr: string; exitCode: number | undefined; aborted: boolean }> {
  await appendFile(options.logFile, `\n$ packer ${args.join(' ')}\n`);
  const toLog = { file: options.logFile, append: true } as const;
  const { onAmiTagging, onLine } = watch;
  // NOTE: execa's line transform sees each line as Packer prints it, before the buffer and the log file take it unchanged.
  // NOTE: execa types a transform's chunk as unknown; without `binary` or `objectMode` it is one line of text.
  const watchLines = function* (line: unknown): Generator<unknown, void, void> {
    const amiId = amiTaggingIn(String(line));
    if (amiId) onAmiTagging?.(amiId);
    onLine?.();
    yield line;
  };
  const spawn = () =>
    execa('packer', args, {
      cwd: options.dir,
      env: options.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      stdout: [watchLines, 'pipe', toLog],
      stderr: ['pipe', toLog],
      stripFinalNewline: false,
      detached: true,
    });
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn();
  } catch (error) {
    throw catalogue.ENOPACKER(error);
  }

  const processGroup = child.pid;
  if (processGroup !== undefined) {
    liveProcessGroups.add(processGroup);
    options.onStart?.(processGroup);
  }
  const timers: NodeJS.Timeout[] = [];
  const signalGroup = (signal: NodeJS.Signals) => {
    if (processGroup === undefined) return;
    try {
      process.kill(-processGroup, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  // NOTE: signals go to the whole group: Packer 1.6.6 is a wrapper plus a child, and the wrapper alone
  // swallows SIGINT. execa's cancelSignal/forceKillAfterDelay signal only the pid, hence this by hand.
  const abort = () => {
    signalGroup('SIGINT');
    const graceMs = options.graceMs ?? 60_000;
    timers.push(
      setTimeout(() => signalGroup('SIGTERM'), graceMs),
      setTimeout(() => signalGroup('SIGKILL'), 2 * graceMs),
    );
  };
  const escalate = () => {
    signalGroup('SIGTERM');
    timers.push(setTimeout(() => signalGroup('SIGKILL'), options.killAfterMs ?? 10_000));
  };
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener('abort', abort, { once: true });
  if (options.escalate?.aborted) escalate();
  else options.escalate?.addEventListener('abort', escalate, { once: true });
  try {
    const result = await child;
    if (result.failed && isMissingBinary(result.cause)) throw catalogue.ENOPACKER(result.cause);
    return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode, aborted: options.signal?.aborted ?? false };
  } finally {
    // An interrupted wrapper has exited; anything it left in its group (a plugin, a shell) goes with it.
    if (options.signal?.aborted || options.escalate?.aborted) signalGroup('SIGKILL');
    if (processGroup !== undefined) liveProcessGroups.delete(processGroup);
    for (const timer of timers) clearTimeout(timer);
    options.signal?.removeEventListener('abort', abort);
    options.escalate?.removeEventListener('abort', escalate);
  }
}

/**
 * Packer runs in process groups of its own (so a terminal's Ctrl-C does not
 * reach it behind gild's back); if gild exits while one is alive, for
 * instance on a second interrupt, the group is killed so that no Packer
 * process outlives gild.
 */
const liveProcessGroups = new Set<number>();
process.on('exit', () => {
  for (const processGroup of liveProcessGroups) {
    try {
      process.kill(-processGroup, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * `packer build -machine-readable -color=false .` in the rendered folder
 * (after `packer init .` when it has a plugins file). A failed build is a
 * value with the reason, not an exception.
 */
export async function packerBuild(options: PackerBuildOptions): Promise<PackerBuildResult> {
  await mkdir(path.dirname(options.logFile), { recursive: true });
  if (await exists(path.join(options.dir, 'plugins.pkr.hcl'))) {
    const init = await runLogged(['init', '.'], options);
    // NOTE: init has no machine-readable mode; its errors are prose on stderr.
    if (init.exitCode !== 0) return { ok: false, reason: `packer init failed: ${failureReason(`${init.stdout}\n${init.stderr}`, init.exitCode)}` };
  }
  // Only the build's lines are watched: `packer init` tags nothing.
  const build = await runLogged(['build', '-machine-readable', '-color=false', '.'], options, options);
  if (build.aborted) return { ok: false, reason: 'the build was interrupted' };
  if (build.exitCode !== 0) return { ok: false, reason: failureReason(`${build.stdout}\n${build.stderr}`, build.exitCode) };
  const manifestFile = path.join(options.dir, 'manifest.json');
  const amis = (await exists(manifestFile)) ? parseManifest(await readFile(manifestFile, 'utf8')) : parseArtifactLines(build.stdout);
  if (Object.keys(amis).length === 0 && options.expectAmis !== false) return { ok: false, reason: 'Packer finished without reporting an AMI' };
  return { ok: true, amis };
}

/**
 * The plugins `packer plugins installed` lists (Packer >= 1.8), one path a line, e.g.
 * `…/github.com/hashicorp/amazon/packer-plugin-amazon_v1.3.2_x5.0_linux_amd64`. Packer 1.6 and 1.7 have no such
 * command (their amazon builder is bundled): undefined.
 */
export async function packerInstalledPlugins(): Promise<string[] | undefined> {
  const result = await execa('packer', ['plugins', 'installed'], { reject: false });
  if (result.failed && isMissingBinary(result.cause)) throw catalogue.ENOPACKER(result.cause);
  if (result.exitCode !== 0) return undefined;
  return String(result.stdout)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
