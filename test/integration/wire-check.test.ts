/**
 * AWS's rules at the wire (test/support/aws-model-*.ts), on the proxies every integration test talks through: a
 * request that breaks a model rule or a documented rule is refused as AWS would refuse it, naming the operation,
 * member, value, rule and sender, and fails the test during which it arrived, also when a spawned process sent it
 * and swallowed the refusal.
 */
import { DescribeImageReferencesCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { execa } from 'execa';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEc2Client } from '../../src/adapters/ec2.ts';
import { createSsmClient } from '../../src/adapters/ssm.ts';
import { assertNoWireViolations, takeWireViolations, wireLedger } from '../support/aws-model-proxy.ts';
import { startCountingProxy } from '../support/counting-proxy.ts';
import { readBody } from '../support/forward-upstream.ts';
import { useMotoBehindFaultProxy } from '../support/moto.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const emulator = useMotoBehindFaultProxy();
const imageIds = (count: number) => Array.from({ length: count }, (_, index) => `ami-${String(index + 1).padStart(17, '0')}`);

describe('the wire check in front of moto', () => {
  it('refuses 11 ImageIds to DescribeImageReferences as EC2 would, naming the operation, member, value, rule and sender', async () => {
    const ec2 = createEc2Client('us-east-1', emulator.moto.endpoint, emulator.moto.env, { maxAttempts: 1 });
    const refused = await ec2.send(new DescribeImageReferencesCommand({ ImageIds: imageIds(11), IncludeAllResourceTypes: true })).catch((error: unknown) => error as Error);
    expect(refused).toMatchObject({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } });
    expect((refused as Error).message).toMatch(
      /^wire check: ec2 DescribeImageReferences: ImageIds = \["ami-00000000000000001", "ami-00000000000000002", …, "ami-00000000000000011"\] \(11 items\) breaks AWS's rule: list length at most 10/,
    );
    expect(takeWireViolations()).toMatchObject([
      {
        service: 'ec2',
        operation: 'DescribeImageReferences',
        member: 'ImageIds',
        rule: expect.stringMatching(/^list length at most 10 \(model shape DescribeImageReferencesImageIdStringList: max 10\), got 11$/),
        sender: expect.stringMatching(/^gild \(aws-sdk-js/),
      },
    ]);
  });

  it('forwards a valid request unchanged and counts it once, through the fault proxy as directly', async () => {
    const before = wireLedger.checked;
    const direct = createEc2Client('us-east-1', emulator.moto.endpoint, emulator.moto.env);
    const faulty = createEc2Client('us-east-1', emulator.proxy.endpoint, emulator.moto.env);
    for (const ec2 of [direct, faulty]) expect((await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:gild:image', Values: ['web'] }] }))).Images).toEqual([]);
    expect(wireLedger.checked - before).toBe(2);
  });

  it('the fault and counting proxies check on arrival: an SSM name AWS reserves is refused before moto sees it', async () => {
    const counting = await startCountingProxy(emulator.moto.endpoint);
    try {
      for (const endpoint of [emulator.proxy.endpoint, counting.endpoint]) {
        const ssm = createSsmClient('us-east-1', { ...emulator.moto.env, AWS_ENDPOINT_URL: endpoint });
        await expect(ssm.send(new PutParameterCommand({ Name: '/ssmish/web/latest', Value: 'ami-0123456789abcdef0', Type: 'String' }))).rejects.toMatchObject({ name: 'ValidationException' });
      }
      expect(emulator.proxy.calls.map((call) => [call.action, call.fault])).toEqual([['PutParameter', 'refused-by-wire-check']]);
      expect(takeWireViolations().map((violation) => `${violation.operation} ${violation.member}: ${violation.rule}`)).toEqual([
        'PutParameter Name: parameter names may not be prefixed with aws or ssm (case-insensitive)',
        'PutParameter Name: parameter names may not be prefixed with aws or ssm (case-insensitive)',
      ]);
    } finally {
      await counting.stop();
    }
  });

  it('records what a spawned process sent, even when it swallowed the refusal', async () => {
    const script = `
      import { EC2Client, EnableImageDeprecationCommand } from '@aws-sdk/client-ec2';
      const ec2 = new EC2Client({ region: 'us-east-1', endpoint: process.env.AWS_ENDPOINT_URL, maxAttempts: 1 });
      await ec2.send(new EnableImageDeprecationCommand({ ImageId: 'ami-0123456789abcdef0', DeprecateAt: new Date(Date.now() - 60_000) })).catch(() => {});
    `;
    const child = await execa(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env: emulator.moto.env, reject: false });
    expect(child.exitCode).toBe(0);
    expect(() => assertNoWireViolations('during this test')).toThrow(
      /1 request\(s\) during this test broke AWS's rules at the wire:\n {2}- ec2 EnableImageDeprecation: DeprecateAt = \S+ breaks AWS's rule: must be in the future once EC2 rounds it to the minute .* — sent by gild \(aws-sdk-js/,
    );
  });

  it('fails the test during which a violation arrived, though the test itself passed', async () => {
    // A test file of its own, run by vitest with the suite's setup: its only test sends an invalid request, swallows
    // the refusal and asserts nothing. The run must fail, naming the request.
    const scratch = path.join(root, 'test', `.wire-check-${process.pid}`);
    mkdirSync(scratch, { recursive: true });
    try {
      writeFileSync(
        path.join(scratch, 'violating.test.ts'),
        `import { DescribeImageReferencesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, it } from 'vitest';
import { startMoto, type MotoServer } from '../support/moto.ts';
let moto: MotoServer;
beforeAll(async () => { moto = await startMoto(); });
afterAll(async () => { await moto.stop(); });
it('sends a request AWS would refuse and looks away', async () => {
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  await ec2.send(new DescribeImageReferencesCommand({ ImageIds: ['ami-0123456789abcdef0'], IncludeAllResourceTypes: true, MaxResults: 2 })).catch(() => {});
});
`,
      );
      writeFileSync(
        path.join(scratch, 'vitest.config.ts'),
        `import { defineConfig } from 'vitest/config';
export default defineConfig({ root: ${JSON.stringify(scratch)}, test: { include: ['*.test.ts'], hookTimeout: 60_000, testTimeout: 120_000, setupFiles: [${JSON.stringify(path.join(root, 'test/support/aws-model-setup.ts'))}] } });
`,
      );
      const run = await execa(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', path.join(scratch, 'vitest.config.ts')], {
        cwd: root,
        reject: false,
        env: { ...process.env, CI: 'true', GILD_WIRE_CHECK_SUMMARY: '' },
      });
      expect(run.exitCode).toBe(1);
      expect(run.stdout + run.stderr).toMatch(
        /1 request\(s\) during this test broke AWS's rules at the wire:\s+- ec2 DescribeImageReferences: MaxResults = 2 breaks AWS's rule: at least 5 \(model shape DescribeImageReferencesMaxResults: min 5\) — sent by gild \(aws-sdk-js/,
      );
      expect(run.stdout + run.stderr).toMatch(/1 failed/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('moto behind the proxies keeps its connections (src/local/moto-server.ts)', () => {
  it('answers requests one after another on one connection, and one with a chunked body as before, closing that connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const describeRegions = 'Action=DescribeRegions&Version=2016-11-15';
    const send = (chunked: boolean) =>
      new Promise<{ status?: number; connection?: string; reused: boolean; text: string }>((resolve, reject) => {
        const headers = {
          'content-type': 'application/x-www-form-urlencoded',
          // moto routes by the credential scope's service (without one, to S3).
          authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
          ...(chunked ? {} : { 'content-length': String(Buffer.byteLength(describeRegions)) }),
        };
        const request = httpRequest(`${emulator.moto.motoEndpoint}/`, { method: 'POST', agent, headers }, (answer) => {
          readBody(answer).then((body) => resolve({ status: answer.statusCode, connection: answer.headers.connection, reused: request.reusedSocket, text: body.toString('utf8') }), reject);
        });
        request.on('error', reject);
        // Written in two pieces without a length, node sends the body chunked.
        if (chunked) request.write(describeRegions.slice(0, 10));
        request.end(chunked ? describeRegions.slice(10) : describeRegions);
      });
    try {
      const first = await send(false);
      const second = await send(false);
      const chunked = await send(true);
      const third = await send(false);
      for (const answer of [first, second, chunked, third]) expect(answer.text).toContain('<regionName>us-east-1</regionName>');
      expect([first, second, chunked, third].map(({ status, connection, reused }) => ({ status, connection, reused }))).toEqual([
        { status: 200, connection: undefined, reused: false },
        { status: 200, connection: undefined, reused: true },
        { status: 200, connection: 'close', reused: true },
        { status: 200, connection: undefined, reused: false },
      ]);
    } finally {
      agent.destroy();
    }
  });

  /** Writes `request` as is on a fresh connection to moto; resolves with all moto wrote once moto closed the connection. */
  const exchange = (request: Buffer) =>
    new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(emulator.moto.motoEndpoint);
      const socket = connect(Number(port), hostname, () => socket.write(request));
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', reject);
      socket.on('end', () => {
        resolve(Buffer.concat(received).toString('latin1'));
        socket.end();
      });
    });
  const describeRegions = 'Action=DescribeRegions&Version=2016-11-15';
  const ec2Headers = [
    'Host: 127.0.0.1',
    'Content-Type: application/x-www-form-urlencoded',
    'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
  ];
  const describeRegionsOn = async () => {
    const answer = await fetch(`${emulator.moto.motoEndpoint}/`, {
      method: 'POST',
      headers: Object.fromEntries(ec2Headers.slice(1).map((header) => header.split(': ') as [string, string])),
      body: describeRegions,
    });
    return { status: answer.status, text: await answer.text() };
  };

  it('answers a Content-Length that is not plain digits (²: a digit to Python, no number) as werkzeug does, closing that connection, and goes on serving', async () => {
    const answer = await exchange(Buffer.from(['POST / HTTP/1.1', ...ec2Headers, 'Content-Length: \u00b2', '', ''].join('\r\n'), 'latin1'));
    expect(answer).toMatch(/^HTTP\/1\.1 \d{3} /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    const next = await describeRegionsOn();
    expect(next.status).toBe(200);
    expect(next.text).toContain('<regionName>us-east-1</regionName>');
  });

  it('closes the connection after answering an HTTP/1.0 request, also one asking to keep it (werkzeug may answer it unbounded)', async () => {
    const request = ['POST / HTTP/1.0', ...ec2Headers, 'Connection: keep-alive', `Content-Length: ${describeRegions.length}`, '', describeRegions].join('\r\n');
    const answer = await exchange(Buffer.from(request, 'latin1'));
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).toContain('<regionName>us-east-1</regionName>');
  });
});
