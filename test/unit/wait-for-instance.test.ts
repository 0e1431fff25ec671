/**
 * The smoke instance's wait at the adapter seam: the SDK's waiter polls at gild's interval (fractions of a second for
 * the emulator), keeps waiting while AWS does not know the new ID yet, and ends on the deadline or the abort.
 */
import { DescribeInstanceStatusCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { waitForInstanceRunning } from '../../src/adapters/ec2.ts';

const ec2 = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const ec2Mock = mockClient(ec2);
const status = (state: string, check: string) => ({
  InstanceStatuses: [{ InstanceId: 'i-1', InstanceState: { Name: state as 'running' }, InstanceStatus: { Status: check as 'ok' }, SystemStatus: { Status: check as 'ok' } }],
});

beforeEach(() => ec2Mock.reset());

describe('waitForInstanceRunning', () => {
  it('keeps polling through an unknown ID and initializing checks, then answers running', async () => {
    ec2Mock
      .on(DescribeInstanceStatusCommand)
      .rejectsOnce(Object.assign(new Error('not yet'), { name: 'InvalidInstanceID.NotFound' }))
      .resolvesOnce(status('pending', 'not-applicable'))
      .resolvesOnce(status('running', 'initializing'))
      .resolves(status('running', 'ok'));
    expect(await waitForInstanceRunning(ec2, 'i-1', { timeoutMs: 30_000, pollMs: 20, signal: new AbortController().signal })).toBe('running');
    expect(ec2Mock.commandCalls(DescribeInstanceStatusCommand)).toHaveLength(4);
    expect(ec2Mock.commandCalls(DescribeInstanceStatusCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-1'], IncludeAllInstances: true });
  }, 5_000); // four polls at the SDK's 15 s default could not finish inside this test's guard; at 20 ms they do

  it('answers timed-out once the deadline passes', async () => {
    ec2Mock.on(DescribeInstanceStatusCommand).resolves(status('running', 'initializing'));
    expect(await waitForInstanceRunning(ec2, 'i-1', { timeoutMs: 300, pollMs: 20, signal: new AbortController().signal })).toBe('timed-out');
  });

  it('answers interrupted when the signal aborts while it waits', async () => {
    const abort = new AbortController();
    ec2Mock.on(DescribeInstanceStatusCommand).callsFake(async () => {
      abort.abort();
      return status('pending', 'not-applicable');
    });
    expect(await waitForInstanceRunning(ec2, 'i-1', { timeoutMs: 30_000, pollMs: 5_000, signal: abort.signal })).toBe('interrupted');
  });
});
