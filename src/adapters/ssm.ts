/**
 * The SSM adapter: Parameter Store (where published AMIs live) and Run Command
 * (how smoke checks run). Pagination lives here; the SDK client retries
 * throttling and 5xx with backoff.
 */
import type * as SsmSdk from '@aws-sdk/client-ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
// NOTE: imported by name, so that the bundle gild runs (src/bin/build-engine.js) holds only these commands, tree-shaken
// from the SDK's ES modules; the package's entry point, one CommonJS file with every command of the service, was most
// of gild's start-up.
import {
  CancelCommandCommand,
  DeleteParameterCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient as SsmClient,
  SendCommandCommand,
  paginateDescribeParameters,
  paginateGetParameterHistory,
  paginateGetParametersByPath,
} from '@aws-sdk/client-ssm';
import { GildError } from '../errors.ts';
import { awsCall, awsError, awsErrorName } from './aws-call.ts';
import { awsClientConfig, nameActionOnErrors, ssmEndpoint } from './aws-client-config.ts';
import { retry, type RetryPolicy } from './retry.ts';

// NOTE: the client's type, re-exported so that code above the adapters names it without importing the SDK.
export type { SSMClient };

/**
 * An SSM client for one region, configured from the context's environment; `credentials` replaces the
 * environment's (another account's role, see sts.ts).
 */
export function createSsmClient(region: string, env: Readonly<Record<string, string | undefined>>, credentials?: SsmSdk.SSMClientConfig['credentials']): SSMClient {
  return nameActionOnErrors(new SsmClient({ ...awsClientConfig(region, ssmEndpoint(env), env), ...(credentials ? { credentials } : {}) }), 'ssm');
}

export interface ParameterValue {
  readonly name: string;
  readonly value: string;
  readonly version: number;
  /** `text` or `aws:ec2:image` (AWS's DataType); absent where the call does not say. */
  readonly dataType?: string;
}

/** A parameter's value, or `undefined` when it does not exist. */
export async function getParameter(ssm: SSMClient, name: string): Promise<ParameterValue | undefined> {
  try {
    const output = await ssm.send(new GetParameterCommand({ Name: name }));
    return { name, value: output.Parameter?.Value ?? '', version: Number(output.Parameter?.Version ?? 0), ...(output.Parameter?.DataType ? { dataType: output.Parameter.DataType } : {}) };
  } catch (error) {
    if (awsErrorName(error) === 'ParameterNotFound') return undefined;
    throw awsError('read parameter', name, error);
  }
}

export async function getParametersByPath(ssm: SSMClient, path: string): Promise<ParameterValue[]> {
  return awsCall('list parameters under', path, async () => {
    const parameters: ParameterValue[] = [];
    for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: path, Recursive: true })) {
      for (const parameter of page.Parameters ?? [])
        parameters.push({ name: parameter.Name ?? '', value: parameter.Value ?? '', version: Number(parameter.Version ?? 0), ...(parameter.DataType ? { dataType: parameter.DataType } : {}) });
    }
    return parameters;
  });
}

/**
 * Writes an `aws:ec2:image` parameter, so that AWS checks the value is an AMI
 * and `resolve:ssm:` works in launch templates.
 */
export async function putImageParameter(ssm: SSMClient, name: string, amiId: string, options: { overwrite: boolean; tags?: Readonly<Record<string, string>>; description?: string }): Promise<void> {
  assertSsmTags(name, options.overwrite ? undefined : options.tags);
  await awsCall('write parameter', name, () => ssm.send(putRequest(name, amiId, options.overwrite, { ...options, dataType: 'aws:ec2:image' })));
}

export interface ParameterWriteOptions {
  /** `aws:ec2:image` makes AWS check the value is an AMI and lets `resolve:ssm:` use it. Default `text`. */
  readonly dataType?: 'text' | 'aws:ec2:image';
  readonly description?: string;
  /** Set on creation only: AWS refuses Tags together with Overwrite. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Unset: the account's default tier (Standard, 4 KB values, unless changed). Intelligent-Tiering: Advanced (8 KB) only when the value needs it. */
  readonly tier?: 'Standard' | 'Advanced' | 'Intelligent-Tiering';
}

/**
 * SSM's tag rules (the SSM API model's TagKey and TagValue; AWS's tagging rules reserve `aws:`), narrower than EC2's:
 * letters, numbers, spaces and `_ . : / = + - @` only. The values gild tags parameters with (image name, version,
 * run ID) are validated where they come from; this says which tag breaks the rule if one ever does not.
 */
const ssmTagCharacters = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function ssmTagProblems(tags: Readonly<Record<string, string>>): string[] {
  return Object.entries(tags).flatMap(([key, value]) => {
    const problems: string[] = [];
    if ([...key].length < 1 || [...key].length > 128) problems.push(`tag key "${key}" must be 1–128 characters`);
    if (!ssmTagCharacters.test(key)) problems.push(`tag key "${key}" may hold only letters, numbers, spaces and _ . : / = + - @`);
    if (key.toLowerCase().startsWith('aws:')) problems.push(`tag key "${key}" must not begin with "aws:", which AWS reserves`);
    if ([...value].length > 256) problems.push(`tag ${key}'s value must be at most 256 characters`);
    if (!ssmTagCharacters.test(value)) problems.push(`tag ${key}'s value "${value}" may hold only letters, numbers, spaces and _ . : / = + - @`);
    return problems;
  });
}

/** Refuses, before anything is sent, tags SSM would refuse: the parameter is not half-written by a refused call. */
function assertSsmTags(name: string, tags: Readonly<Record<string, string>> | undefined): void {
  const problems = tags ? ssmTagProblems(tags) : [];
  if (problems.length > 0) {
    throw new GildError(
      'EAWS',
      'pipeline',
      `Cannot write parameter ${name}: SSM refuses its tags. ${problems.join('; ')}. Fix the value the tag comes from (the image name, version or run ID).`,
      problems,
    );
  }
}

function putRequest(name: string, value: string, overwrite: boolean, options: ParameterWriteOptions) {
  return new PutParameterCommand({
    Name: name,
    Value: value,
    Type: 'String',
    Overwrite: overwrite,
    ...(options.dataType ? { DataType: options.dataType } : {}),
    ...(options.tier ? { Tier: options.tier } : {}),
    ...(options.description ? { Description: options.description.slice(0, 1024) } : {}),
    ...(!overwrite && options.tags ? { Tags: Object.entries(options.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
  });
}

/** Reads a parameter back after a write whose answer was unclear; a failed read keeps the write's error as the reason. */
async function readBackAfter(ssm: SSMClient, name: string, action: string, writeError: unknown): Promise<ParameterValue | undefined> {
  try {
    return await getParameter(ssm, name);
  } catch (readError) {
    throw awsError(action, name, new AggregateError([writeError, readError], 'the write failed and reading it back failed too'));
  }
}

// NOTE: a create that meets ParameterAlreadyExists and then reads the parameter back as absent is either racing a
// delete, or meeting an `aws:ec2:image` write that AWS is still validating (it validates asynchronously and the
// parameter appears only once valid). A few spaced attempts settle both; more would hide a fight between runs.
const createRetry = { attempts: 3, baseDelayMs: 250, maxDelayMs: 1000 };

/**
 * Creates a parameter only if it does not exist. PutParameter without
 * Overwrite is atomic, which is what locks and `versions/<v>` need.
 *
 * A lost answer is recognised by reading back, never blamed on another run:
 * the SDK retries a 500 whose write was applied, and that retry meets
 * ParameterAlreadyExists on our own parameter. If the value there is ours, the
 * write is ours. So callers must write values no other writer could write
 * (an AMI ID, a lease naming the run ID).
 */
export async function createParameterIfAbsent(ssm: SSMClient, name: string, value: string, options: ParameterWriteOptions = {}): Promise<'created' | { readonly exists: ParameterValue }> {
  assertSsmTags(name, options.tags);
  const create = async (): Promise<'created' | { readonly exists: ParameterValue }> => {
    try {
      await ssm.send(putRequest(name, value, false, options));
      return 'created';
    } catch (error) {
      const current = await readBackAfter(ssm, name, 'create parameter', error);
      if (current?.value === value) return 'created';
      if (current) return { exists: current };
      throw error;
    }
  };
  // Absent after a refusal: either the write was not applied (thrown), or it existed and was deleted while we looked
  // (ParameterAlreadyExists: try again).
  return retry(create, { ...createRetry, retryable: (error) => awsErrorName(error) === 'ParameterAlreadyExists' }).catch((error: unknown) => {
    throw error instanceof GildError ? error : awsError('create parameter', name, error);
  });
}

/**
 * The parameter as the caller read it just now (`current` undefined: absent), having decided purely since and written
 * nothing: a conditional write or delete given it takes that read as its re-check instead of reading again right
 * after it (two reads of one parameter, one round trip apart, nothing between them). The write still lands one round
 * trip after the read it checked, as after a read of its own; a read older than that (an observation, a plan) is
 * never one.
 */
export interface ReadJustNow {
  readonly current: ParameterValue | undefined;
}

/**
 * Moves a pointer (such as `latest`) from the value this run planned on to
 * ours: re-reads it first and writes only if it still holds `expected`
 * (`undefined` = absent, which is then an atomic create).
 *
 * NOTE: SSM has no conditional overwrite, so between the re-read and the
 * PutParameter another writer can move the pointer and we overwrite it. The
 * window is one round trip; the image's lease is what keeps two gild runs
 * from moving the same pointer, and this re-check is what stops a run from
 * undoing a move made since it planned (a promote, a rollback, a person).
 */
export async function putParameterExpecting(
  ssm: SSMClient,
  name: string,
  value: string,
  options: ParameterWriteOptions & { readonly expected: string | undefined; readonly readJustNow?: ReadJustNow },
): Promise<'written' | { readonly moved: string | undefined }> {
  const current = options.readJustNow ? options.readJustNow.current : await getParameter(ssm, name);
  if (current?.value === value) return 'written';
  if (current?.value !== options.expected) return { moved: current?.value };
  if (options.expected === undefined) {
    const created = await createParameterIfAbsent(ssm, name, value, options);
    return created === 'created' ? 'written' : { moved: created.exists.value };
  }
  try {
    await ssm.send(putRequest(name, value, true, options));
    return 'written';
  } catch (error) {
    const after = await readBackAfter(ssm, name, 'write parameter', error);
    if (after?.value === value) return 'written';
    if (after?.value === options.expected) throw awsError('write parameter', name, error);
    return { moved: after?.value };
  }
}

/**
 * Deletes a parameter only while it still holds `value`: undo deletes only
 * what this run wrote, and a lease is released only by its holder. Absent is
 * fine. The same one-round-trip window as `putParameterExpecting` applies
 * between the re-read and the delete.
 */
export async function deleteParameterIfValue(ssm: SSMClient, name: string, value: string, readJustNow?: ReadJustNow): Promise<'deleted' | 'absent' | { readonly kept: string }> {
  const current = readJustNow ? readJustNow.current : await getParameter(ssm, name);
  if (!current) return 'absent';
  if (current.value !== value) return { kept: current.value };
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }));
    return 'deleted';
  } catch (error) {
    // ParameterNotFound here is our own delete, retried by the SDK after its answer was lost, or someone else's.
    if (awsErrorName(error) === 'ParameterNotFound') return 'deleted';
    const after = await readBackAfter(ssm, name, 'delete parameter', error);
    if (!after) return 'deleted';
    if (after.value === value) throw awsError('delete parameter', name, error);
    return { kept: after.value };
  }
}

export type RunDocument = 'AWS-RunShellScript' | 'AWS-RunPowerShellScript';

/**
 * Sends a command to one instance. The SSM agent registers a while after the
 * instance is running, and until then SendCommand answers InvalidInstanceId:
 * that is retried with bounded backoff. DescribeInstanceInformation would be
 * the other way to wait, but it costs an extra API and moto lacks it.
 */
export async function sendCommand(
  ssm: SSMClient,
  request: { instanceId: string; document: RunDocument; commands: readonly string[]; timeoutSeconds: number; comment: string },
  registration: RetryPolicy & { sleep?: (ms: number) => Promise<void> },
): Promise<{ commandId: string } | { notRegistered: true }> {
  const notRegistered = (error: unknown) => awsErrorName(error) === 'InvalidInstanceId';
  const send = async () => {
    const output = await ssm.send(
      new SendCommandCommand({
        InstanceIds: [request.instanceId],
        DocumentName: request.document,
        Comment: request.comment.slice(0, 100),
        TimeoutSeconds: Math.max(30, request.timeoutSeconds),
        Parameters: { commands: [...request.commands], executionTimeout: [String(request.timeoutSeconds)] },
      }),
    );
    const commandId = output.Command?.CommandId;
    if (!commandId) throw new Error('SendCommand returned no command ID');
    return { commandId };
  };
  try {
    return await retry(send, { ...registration, retryable: notRegistered });
  } catch (error) {
    if (notRegistered(error)) return { notRegistered: true };
    throw awsError('send a command to', request.instanceId, error);
  }
}

export interface CommandInvocation {
  /** Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed, Cancelling. */
  readonly status: string;
  /** Finer than status: e.g. ExecutionTimedOut or DeliveryTimedOut for TimedOut. */
  readonly statusDetails: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function getCommandInvocation(ssm: SSMClient, commandId: string, instanceId: string): Promise<CommandInvocation | undefined> {
  try {
    const output = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    return {
      status: output.Status ?? 'Pending',
      statusDetails: output.StatusDetails ?? '',
      exitCode: output.ResponseCode ?? -1,
      stdout: output.StandardOutputContent ?? '',
      stderr: output.StandardErrorContent ?? '',
    };
  } catch (error) {
    // Right after SendCommand the invocation may not exist yet.
    if (awsErrorName(error) === 'InvocationDoesNotExist') return undefined;
    throw awsError('read the result of command', `${commandId} on ${instanceId}`, error);
  }
}

export const terminalCommandStatuses = new Set(['Success', 'Cancelled', 'TimedOut', 'Failed']);

/**
 * Asks Run Command to stop a command gild has stopped waiting for. Best effort:
 * the caller has already decided the outcome, so a refusal is only reported.
 */
export async function cancelCommand(ssm: SSMClient, commandId: string, instanceId: string): Promise<void> {
  await awsCall('cancel command', `${commandId} on ${instanceId}`, () => ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] })));
}

/** Every parameter under a path, recursively, with when it was last written: one paginated read. */
export async function listParametersUnder(ssm: SSMClient, path: string): Promise<{ name: string; value: string; version: number; lastModified: string | undefined }[]> {
  return awsCall('list parameters under', path, async () => {
    const parameters: { name: string; value: string; version: number; lastModified: string | undefined }[] = [];
    for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: path, Recursive: true })) {
      for (const parameter of page.Parameters ?? []) {
        parameters.push({ name: parameter.Name ?? '', value: parameter.Value ?? '', version: Number(parameter.Version ?? 0), lastModified: parameter.LastModifiedDate?.toISOString() });
      }
    }
    return parameters;
  });
}

/**
 * Names of the parameters in the region, optionally only those of DataType `aws:ec2:image` (a filter real AWS
 * takes and the emulator refuses; the caller decides which to use).
 */
export async function describeParameterNames(ssm: SSMClient, options: { imagesOnly: boolean }): Promise<string[]> {
  return awsCall('list parameters', options.imagesOnly ? 'of data type aws:ec2:image' : 'in the region', async () => {
    const names: string[] = [];
    const filters = options.imagesOnly ? { ParameterFilters: [{ Key: 'DataType', Option: 'Equals', Values: ['aws:ec2:image'] }] } : {};
    for await (const page of paginateDescribeParameters({ client: ssm, pageSize: 50 }, filters)) {
      for (const parameter of page.Parameters ?? []) if (parameter.Name) names.push(parameter.Name);
    }
    return names;
  });
}

/** Values of the named parameters, 10 a call (GetParameters' limit); names that do not exist are left out. */
export async function getParameters(ssm: SSMClient, names: readonly string[]): Promise<ParameterValue[]> {
  const values: ParameterValue[] = [];
  for (let start = 0; start < names.length; start += 10) {
    const batch = names.slice(start, start + 10);
    const output = await awsCall('read parameters', batch.join(', '), () => ssm.send(new GetParametersCommand({ Names: batch })));
    for (const parameter of output.Parameters ?? [])
      values.push({ name: parameter.Name ?? '', value: parameter.Value ?? '', version: Number(parameter.Version ?? 0), ...(parameter.DataType ? { dataType: parameter.DataType } : {}) });
  }
  return values;
}

export interface ParameterHistoryEntry {
  readonly value: string;
  readonly version: number;
  readonly lastModified: string | undefined;
  readonly description: string | undefined;
}

/** Every value a parameter has held, oldest first; a parameter that does not exist has none. */
export async function getParameterHistory(ssm: SSMClient, name: string): Promise<ParameterHistoryEntry[]> {
  const entries: ParameterHistoryEntry[] = [];
  try {
    for await (const page of paginateGetParameterHistory({ client: ssm, pageSize: 50 }, { Name: name })) {
      for (const entry of page.Parameters ?? []) {
        entries.push({ value: entry.Value ?? '', version: Number(entry.Version ?? 0), lastModified: entry.LastModifiedDate?.toISOString(), description: entry.Description });
      }
    }
  } catch (error) {
    if (awsErrorName(error) === 'ParameterNotFound') return [];
    throw awsError('read the history of parameter', name, error);
  }
  return entries.sort((a, b) => a.version - b.version);
}
