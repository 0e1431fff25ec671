/**
 * AWS's own service models, read at test time from the botocore that moto
 * installs (`botocore/data/<service>/<version>/service-2.json[.gz]`): the
 * same JSON the AWS SDKs and the AWS CLI are generated from. Nothing is copied
 * into this repository; the newest version of each model on the machine is
 * the rulebook.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { motoServerPython } from '../../src/local/moto-server.ts';

export interface ShapeMember {
  readonly shape: string;
  readonly locationName?: string;
  readonly queryName?: string;
  readonly location?: string;
  readonly documentation?: string;
  readonly flattened?: boolean;
}

export interface Shape {
  readonly type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'blob' | 'double' | 'float';
  readonly members?: Readonly<Record<string, ShapeMember>>;
  readonly required?: readonly string[];
  readonly member?: ShapeMember;
  readonly key?: ShapeMember;
  readonly value?: ShapeMember;
  readonly flattened?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly documentation?: string;
}

export interface ServiceModel {
  /** The botocore directory name (ec2, ssm, sts, …). */
  readonly service: string;
  /** The file the rules came from, for messages. */
  readonly file: string;
  readonly metadata: { readonly protocol: string; readonly apiVersion: string; readonly targetPrefix?: string; readonly signingName?: string; readonly endpointPrefix: string };
  readonly operations: Readonly<Record<string, { readonly name: string; readonly input?: { readonly shape: string }; readonly http?: { readonly method: string; readonly requestUri: string } }>>;
  readonly shapes: Readonly<Record<string, Shape>>;
}

/** The Python interpreters that may hold botocore: moto_server's own (its shebang), then python3. */
function pythonCandidates(): string[] {
  const own = motoServerPython();
  return own ? [own, 'python3'] : ['python3'];
}

let dataDirectory: string | undefined;

/**
 * Where the last probe found botocore, by the interpreters it asked and what picks them (PATH, pyenv's version). NOTE:
 * every cli test file runs in a fresh process, and asking Python (which imports botocore) cost 0.3-0.5 s there each
 * time; the answer is kept beside the other caches in node_modules/.cache and asked again when any of that differs or
 * the folder is gone.
 */
const probeCache = path.join(fileURLToPath(new URL('../../node_modules/.cache', import.meta.url)), 'gild-test-botocore.json');

function textOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * What picks pyenv's Python when PYENV_VERSION is unset: the nearest `.python-version` from the working directory (or
 * PYENV_DIR) upwards (`pyenv local`), else `$PYENV_ROOT/version` (`pyenv global`). A few reads of small files, so that
 * either command changing the Python asks it again.
 */
export function pyenvVersionChoice(start = process.env.PYENV_DIR || process.cwd()): readonly string[] {
  let local = '';
  for (let directory = path.resolve(start); ; directory = path.dirname(directory)) {
    const text = textOrEmpty(path.join(directory, '.python-version'));
    if (text) {
      local = `${directory}: ${text}`;
      break;
    }
    if (path.dirname(directory) === directory) break;
  }
  return [local, textOrEmpty(path.join(process.env.PYENV_ROOT || path.join(homedir(), '.pyenv'), 'version'))];
}

export const probeKey = (candidates: readonly string[]) => JSON.stringify([candidates, process.env.PATH ?? '', process.env.PYENV_VERSION ?? '', pyenvVersionChoice()]);

function cachedDataDirectory(candidates: readonly string[]): string | undefined {
  try {
    const cached = JSON.parse(readFileSync(probeCache, 'utf8')) as { key?: unknown; directory?: unknown };
    if (cached.key === probeKey(candidates) && typeof cached.directory === 'string' && existsSync(cached.directory)) return cached.directory;
  } catch {
    // No cache yet, or an unreadable one: ask Python.
  }
  return undefined;
}

function keepDataDirectory(candidates: readonly string[], directory: string): void {
  try {
    mkdirSync(path.dirname(probeCache), { recursive: true });
    const partial = `${probeCache}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify({ key: probeKey(candidates), directory }));
    renameSync(partial, probeCache);
  } catch {
    // A cache that cannot be written only costs the next file its probe.
  }
}

/** botocore's `data` folder, found through the Python that runs moto. */
export function botocoreDataDirectory(): string {
  if (dataDirectory) return dataDirectory;
  const candidates = pythonCandidates();
  const cached = cachedDataDirectory(candidates);
  if (cached) return (dataDirectory = cached);
  const failures: string[] = [];
  for (const python of candidates) {
    try {
      const found = execFileSync(python, ['-c', 'import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), "data"))'], { encoding: 'utf8' }).trim();
      if (existsSync(found)) {
        keepDataDirectory(candidates, found);
        return (dataDirectory = found);
      }
      failures.push(`${python}: ${found} does not exist`);
    } catch (error) {
      failures.push(`${python}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`AWS model check: botocore (installed with moto) was not found; install moto[server] as .ci/run does (${failures.join('; ')})`);
}

const models = new Map<string, ServiceModel | undefined>();

/** Members whose documentation the checks read (aws-model-check.ts: documentedFilterNames, maxResultsRules). */
const documentationRead = new Set(['Filters', 'MaxResults']);

/**
 * A model as the checks read it: each operation's name, input and HTTP binding, the shapes its input reaches, and no
 * documentation but that of the members whose documentation says what the model cannot (`documentationRead`).
 * NOTE: answers and documentation are two thirds of a model (EC2's 5 MB comes down to 0.8 MB), and a model is read
 * in every cli test file's fresh process.
 */
export function whatTheChecksRead(parsed: Record<string, unknown>): Omit<ServiceModel, 'service' | 'file'> {
  const model = parsed as unknown as Omit<ServiceModel, 'service' | 'file'>;
  const reached = new Set<string>();
  const pending = Object.values(model.operations).flatMap((operation) => (operation.input ? [operation.input.shape] : []));
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (reached.has(name)) continue;
    reached.add(name);
    const shape = model.shapes[name];
    for (const member of [...Object.values(shape?.members ?? {}), shape?.member, shape?.key, shape?.value]) if (member) pending.push(member.shape);
  }
  const strip = (value: unknown, key: string | undefined): unknown => {
    if (Array.isArray(value)) return value.map((item) => strip(item, undefined));
    if (value === null || typeof value !== 'object') return value;
    const kept: Record<string, unknown> = {};
    for (const [name, inner] of Object.entries(value)) {
      if ((name === 'documentation' || name === 'documentationUrl') && !(key !== undefined && documentationRead.has(key))) continue;
      kept[name] = strip(inner, name);
    }
    return kept;
  };
  const operations = Object.fromEntries(
    Object.entries(model.operations).map(([name, { name: operationName, input, http }]) => [name, { name: operationName, ...(input ? { input } : {}), ...(http ? { http } : {}) }]),
  );
  const shapes = Object.fromEntries(Object.entries(model.shapes).flatMap(([name, shape]) => (reached.has(name) ? [[name, strip(shape, undefined)]] : [])));
  return { metadata: model.metadata, operations, shapes } as Omit<ServiceModel, 'service' | 'file'>;
}

/**
 * Where a model is kept as the checks read it (`whatTheChecksRead`), by everything its answer depends on: the
 * botocore file's path, size and modification time, and this file's own source text, which decides what a kept model
 * holds (`documentationRead`, `whatTheChecksRead`): a change to what the checks read is never answered with a copy
 * stripped by the old rules. NOTE: every cli test file runs in a fresh process and read EC2's model whole (gunzip and
 * JSON.parse of 5 MB, 70-140 ms of CPU in each).
 */
const modelCacheDirectory = path.join(path.dirname(probeCache), 'gild-test-models');

let ownSource: string | undefined;
const loaderSource = () => (ownSource ??= readFileSync(fileURLToPath(import.meta.url), 'utf8'));

/** `stripping` is the text of what strips a model (this file's, unless a test says another). */
export function modelCacheFile(file: string, stripping: string = loaderSource()): string {
  const { size, mtimeMs } = statSync(file);
  const key = createHash('sha256')
    .update(JSON.stringify([file, size, mtimeMs]))
    .update(stripping)
    .digest('hex')
    .slice(0, 16);
  return path.join(modelCacheDirectory, `${path.basename(path.dirname(path.dirname(file)))}-${key}.json`);
}

export function readModelFile(file: string): Omit<ServiceModel, 'service' | 'file'> {
  const cached = modelCacheFile(file);
  try {
    return JSON.parse(readFileSync(cached, 'utf8')) as Omit<ServiceModel, 'service' | 'file'>;
  } catch {
    // Not kept yet (or unreadable): read botocore's file and keep what the checks read of it.
  }
  const text = file.endsWith('.gz') ? gunzipSync(readFileSync(file)).toString('utf8') : readFileSync(file, 'utf8');
  const model = whatTheChecksRead(JSON.parse(text) as Record<string, unknown>);
  try {
    mkdirSync(modelCacheDirectory, { recursive: true });
    // NOTE: written whole, then renamed: a test file starting at the same time never reads half a model.
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(model));
    renameSync(partial, cached);
  } catch {
    // A cache that cannot be written only costs the next file the full read.
  }
  return model;
}

/** The newest model of a botocore service directory (ec2, ssm, sts, iam, autoscaling, kms, s3, sns, …), or undefined. */
export function loadServiceModel(service: string): ServiceModel | undefined {
  if (models.has(service)) return models.get(service);
  const serviceDirectory = path.join(botocoreDataDirectory(), service);
  let model: ServiceModel | undefined;
  if (existsSync(serviceDirectory)) {
    const newest = readdirSync(serviceDirectory)
      .filter((name) => /^\d{4}-\d{2}-\d{2}$/.test(name))
      .sort()
      .at(-1);
    if (newest) {
      const plain = path.join(serviceDirectory, newest, 'service-2.json');
      const file = existsSync(plain) ? plain : `${plain}.gz`;
      model = { service, file, ...readModelFile(file) };
    }
  }
  models.set(service, model);
  return model;
}

/**
 * Which model a request is for: the JSON protocol names it in `X-Amz-Target` (`AmazonSSM.PutParameter`), the query
 * protocols by the signing service of the Authorization header's credential scope (`…/us-east-1/ec2/aws4_request`).
 */
const serviceByTargetPrefix: Readonly<Record<string, string>> = {
  AmazonSSM: 'ssm',
  TrentService: 'kms',
  AWSSecurityTokenServiceV20110615: 'sts',
  AmazonEC2ContainerRegistry_V20150921: 'ecr',
  AWSEvents: 'events',
  AmazonSQS: 'sqs',
};
const serviceBySigningName: Readonly<Record<string, string>> = {
  ec2: 'ec2',
  autoscaling: 'autoscaling',
  sts: 'sts',
  iam: 'iam',
  ssm: 'ssm',
  kms: 'kms',
  sns: 'sns',
  sqs: 'sqs',
  s3: 's3',
  ecr: 'ecr',
  events: 'events',
  rbin: 'rbin',
};

export function modelForTarget(targetPrefix: string): ServiceModel | undefined {
  const service = serviceByTargetPrefix[targetPrefix];
  return service ? loadServiceModel(service) : undefined;
}

export function modelForSigningName(signingName: string): ServiceModel | undefined {
  const service = serviceBySigningName[signingName];
  return service ? loadServiceModel(service) : undefined;
}
