/**
 * The branches of the idempotent writes that moto cannot produce: a network
 * failure whose write was or was not applied, a parameter deleted while we
 * look, a read-back that fails too. Tested at the adapter seam with stubbed
 * clients; the applied-then-lost cases moto can produce are in
 * test/integration/idempotent-ssm-writes.test.ts.
 */
import { DeleteParameterCommand, GetParameterCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createParameterIfAbsent, deleteParameterIfValue, putParameterExpecting } from '../../src/adapters/ssm.ts';
import { keepLeaseAlive } from '../../src/apply/lease.ts';
import { GildError } from '../../src/errors.ts';

const name = '/golden/web/versions/1.4.2';
const networkError = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
const alreadyExists = () => new ParameterAlreadyExists({ message: 'The parameter already exists.', $metadata: {} });
const notFound = () => new ParameterNotFound({ message: 'Parameter not found.', $metadata: {} });
const found = (value: string) => ({ Parameter: { Name: name, Value: value, Version: 1 } });

function setup() {
  const ssm = new SSMClient({ region: 'us-east-1' });
  return { ssm, mock: mockClient(ssm) };
}

async function rejection(promise: Promise<unknown>): Promise<GildError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GildError);
  return error as GildError;
}

describe('createParameterIfAbsent', () => {
  it('rethrows a failed write that was not applied, keeping the cause', async () => {
    const { ssm, mock } = setup();
    const cause = networkError();
    mock.on(PutParameterCommand).rejects(cause);
    mock.on(GetParameterCommand).rejects(notFound());
    const error = await rejection(createParameterIfAbsent(ssm, name, 'ami-ours'));
    expect(error.message).toBe(`AWS refused to create parameter ${name}: TimeoutError: socket hang up`);
    expect(error.cause).toBe(cause);
  });

  it('takes a failed write whose value is there for created', async () => {
    const { ssm, mock } = setup();
    mock.on(PutParameterCommand).rejects(networkError());
    mock.on(GetParameterCommand).resolves(found('ami-ours'));
    expect(await createParameterIfAbsent(ssm, name, 'ami-ours')).toBe('created');
  });

  it('reports a failed write that meets someone else’s parameter as existing', async () => {
    const { ssm, mock } = setup();
    mock.on(PutParameterCommand).rejects(networkError());
    mock.on(GetParameterCommand).resolves(found('ami-earlier-run'));
    expect(await createParameterIfAbsent(ssm, name, 'ami-ours')).toEqual({ exists: { name, value: 'ami-earlier-run', version: 1 } });
  });

  it('creates again when the parameter it met was deleted while it looked', async () => {
    const { ssm, mock } = setup();
    mock.on(PutParameterCommand).rejectsOnce(alreadyExists()).resolves({ Version: 1 });
    mock.on(GetParameterCommand).rejects(notFound());
    expect(await createParameterIfAbsent(ssm, name, 'ami-ours')).toBe('created');
    expect(mock.commandCalls(PutParameterCommand)).toHaveLength(2);
  });

  it('gives up after a few rounds of a parameter that keeps appearing and vanishing', async () => {
    const { ssm, mock } = setup();
    mock.on(PutParameterCommand).rejects(alreadyExists());
    mock.on(GetParameterCommand).rejects(notFound());
    const error = await rejection(createParameterIfAbsent(ssm, name, 'ami-ours'));
    expect(error.message).toContain('ParameterAlreadyExists');
    expect(mock.commandCalls(PutParameterCommand)).toHaveLength(3);
  });

  it('keeps both errors when the read-back fails too', async () => {
    const { ssm, mock } = setup();
    const writeError = networkError();
    mock.on(PutParameterCommand).rejects(writeError);
    mock.on(GetParameterCommand).rejects(networkError());
    const error = await rejection(createParameterIfAbsent(ssm, name, 'ami-ours'));
    expect(error.cause).toBeInstanceOf(AggregateError);
    expect((error.cause as AggregateError).errors[0]).toBe(writeError);
  });

  it('sends tags only on creation, with the data type and description', async () => {
    const { ssm, mock } = setup();
    mock.on(PutParameterCommand).resolves({ Version: 1 });
    await createParameterIfAbsent(ssm, name, 'ami-ours', { dataType: 'aws:ec2:image', description: 'web 1.4.2', tags: { 'gild:run-id': 'r1' } });
    expect(mock.commandCalls(PutParameterCommand)[0]!.args[0].input).toEqual({
      Name: name,
      Value: 'ami-ours',
      Type: 'String',
      Overwrite: false,
      DataType: 'aws:ec2:image',
      Description: 'web 1.4.2',
      Tags: [{ Key: 'gild:run-id', Value: 'r1' }],
    });
  });
});

describe('putParameterExpecting', () => {
  it('rethrows a failed move when the pointer still holds the expected value', async () => {
    const { ssm, mock } = setup();
    mock.on(PutParameterCommand).rejects(networkError());
    mock.on(GetParameterCommand).resolves(found('ami-old'));
    const error = await rejection(putParameterExpecting(ssm, name, 'ami-new', { expected: 'ami-old', tags: { ignored: 'on overwrite' } }));
    expect(error.message).toContain('write parameter');
    expect(mock.commandCalls(PutParameterCommand)[0]!.args[0].input).not.toHaveProperty('Tags');
  });

  it('reports a failed move that meets a third value as moved', async () => {
    const { ssm, mock } = setup();
    mock.on(PutParameterCommand).rejects(networkError());
    mock.on(GetParameterCommand).resolvesOnce(found('ami-old')).resolves(found('ami-promoted'));
    expect(await putParameterExpecting(ssm, name, 'ami-new', { expected: 'ami-old' })).toEqual({ moved: 'ami-promoted' });
  });

  it('writes nothing when the pointer already holds our value', async () => {
    const { ssm, mock } = setup();
    mock.on(GetParameterCommand).resolves(found('ami-new'));
    expect(await putParameterExpecting(ssm, name, 'ami-new', { expected: 'ami-old' })).toBe('written');
    expect(mock.commandCalls(PutParameterCommand)).toHaveLength(0);
  });
  it('takes the read its caller made just now for its re-check, reading nothing again, and still reads back a lost answer', async () => {
    const { ssm, mock } = setup();
    mock.on(PutParameterCommand).resolves({ Version: 2 });
    mock.on(GetParameterCommand).resolves(found('ami-never-read'));
    const readJustNow = { current: { name, value: 'ami-old', version: 1 } };
    expect(await putParameterExpecting(ssm, name, 'ami-new', { expected: 'ami-old', readJustNow })).toBe('written');
    expect(await putParameterExpecting(ssm, name, 'ami-new', { expected: 'ami-other', readJustNow })).toEqual({ moved: 'ami-old' });
    expect(await putParameterExpecting(ssm, name, 'ami-new', { expected: undefined, readJustNow: { current: undefined } })).toBe('written');
    expect(mock.commandCalls(GetParameterCommand)).toHaveLength(0);
    expect(mock.commandCalls(PutParameterCommand).map((call) => call.args[0].input.Overwrite)).toEqual([true, false]);

    mock.on(PutParameterCommand).rejects(networkError());
    mock.on(GetParameterCommand).resolves(found('ami-new'));
    expect(await putParameterExpecting(ssm, name, 'ami-new', { expected: 'ami-old', readJustNow })).toBe('written');
    expect(mock.commandCalls(GetParameterCommand)).toHaveLength(1);
  });
});

describe('deleteParameterIfValue', () => {
  it('rethrows a failed delete when the value is still there', async () => {
    const { ssm, mock } = setup();
    mock.on(DeleteParameterCommand).rejects(networkError());
    mock.on(GetParameterCommand).resolves(found('ami-ours'));
    const error = await rejection(deleteParameterIfValue(ssm, name, 'ami-ours'));
    expect(error.message).toContain('delete parameter');
  });

  it('takes a failed delete whose parameter is gone for deleted', async () => {
    const { ssm, mock } = setup();
    mock.on(DeleteParameterCommand).rejects(networkError());
    mock.on(GetParameterCommand).resolvesOnce(found('ami-ours')).rejects(notFound());
    expect(await deleteParameterIfValue(ssm, name, 'ami-ours')).toBe('deleted');
  });

  it('reports a failed delete that meets a new value as kept', async () => {
    const { ssm, mock } = setup();
    mock.on(DeleteParameterCommand).rejects(networkError());
    mock.on(GetParameterCommand).resolvesOnce(found('ami-ours')).resolves(found('ami-next-run'));
    expect(await deleteParameterIfValue(ssm, name, 'ami-ours')).toEqual({ kept: 'ami-next-run' });
  });
  it('takes the read its caller made just now for its re-check, reading nothing again', async () => {
    const { ssm, mock } = setup();
    mock.on(DeleteParameterCommand).resolves({});
    mock.on(GetParameterCommand).resolves(found('ami-never-read'));
    expect(await deleteParameterIfValue(ssm, name, 'ami-ours', { current: { name, value: 'ami-ours', version: 3 } })).toBe('deleted');
    expect(await deleteParameterIfValue(ssm, name, 'ami-ours', { current: { name, value: 'ami-next-run', version: 4 } })).toEqual({ kept: 'ami-next-run' });
    expect(await deleteParameterIfValue(ssm, name, 'ami-ours', { current: undefined })).toBe('absent');
    expect(mock.commandCalls(GetParameterCommand)).toHaveLength(0);
    expect(mock.commandCalls(DeleteParameterCommand)).toHaveLength(1);
  });
});

describe('keepLeaseAlive', () => {
  it('keeps trying while the lease is valid, then reports it lost once it expires unrenewed', async () => {
    const { ssm, mock } = setup();
    mock.on(GetParameterCommand).rejects(networkError());
    const lease = { runId: 'r1', host: 'ci-1', pid: 7, takenAt: '2026-11-29T03:00:00.000Z', expiresAt: '2026-11-29T03:10:00.000Z' };
    // Each failed renewal asks the clock once: the first two still fall inside the lease, the third after it.
    const times = ['2026-11-29T03:05:00.000Z', '2026-11-29T03:09:00.000Z', '2026-11-29T03:10:00.000Z'];
    const lost: string[] = [];
    await keepLeaseAlive(ssm, '/golden/web/lock', lease, {
      now: () => new Date(times.shift() ?? '2026-11-29T04:00:00.000Z'),
      ttlMs: 600_000,
      everyMs: 1,
      signal: new AbortController().signal,
      onLost: (reason) => lost.push(reason),
    });
    expect(mock.commandCalls(GetParameterCommand)).toHaveLength(3);
    expect(lost).toEqual([expect.stringMatching(/^the lease on \/golden\/web\/lock expires at 2026-11-29T03:10:00.000Z and could not be renewed: AWS refused to read parameter/)]);
  });
});
