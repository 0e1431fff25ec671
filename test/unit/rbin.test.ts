/**
 * Recycle Bin retention rules, which moto does not implement (EMULATOR.md: no `rbin`): each request is built,
 * serialized and signed by gild's own client through the real adapter, taken off the wire right before sending
 * (aws-model-capture.ts), held to botocore's rbin model (REST-JSON: the operation found by method and path), and
 * answered with a canned response in the service's format.
 */
import { describe, expect, it } from 'vitest';
import { createRbinClient, listRetentionRules } from '../../src/adapters/rbin.ts';
import { captureAtTheWire } from '../support/aws-model-capture.ts';
import { checkWireRequest } from '../support/aws-model-check.ts';

const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
const json = (value: unknown) => ({ body: JSON.stringify(value) });

describe('Recycle Bin retention rules, read by gild and held to AWS rules', () => {
  it('lists every page of the EC2_IMAGE rules, then reads each rule for its tags and status', async () => {
    const rbin = createRbinClient('eu-west-1', env);
    const rules: Record<string, unknown> = {
      a12bCdEfGh3: { Identifier: 'a12bCdEfGh3', ResourceType: 'EC2_IMAGE', RetentionPeriod: { RetentionPeriodValue: 14, RetentionPeriodUnit: 'DAYS' }, Status: 'available', LockState: 'locked' },
      b98zYxWvUt7: {
        Identifier: 'b98zYxWvUt7',
        Description: 'golden images',
        ResourceType: 'EC2_IMAGE',
        RetentionPeriod: { RetentionPeriodValue: 30, RetentionPeriodUnit: 'DAYS' },
        ResourceTags: [{ ResourceTagKey: 'gild:image' }, { ResourceTagKey: 'team', ResourceTagValue: 'platform' }],
        Status: 'pending',
      },
    };
    // GetRule names its rule in the path only: the answers follow the order the adapter asks in.
    const ruleAnswers = ['a12bCdEfGh3', 'b98zYxWvUt7'].map((identifier) => json(rules[identifier]));
    const wire = captureAtTheWire(rbin, (request) => {
      if (request.action === 'GetRule') return ruleAnswers.shift();
      return (request.params as Record<string, unknown>).NextToken ? json({ Rules: [{ Identifier: 'b98zYxWvUt7' }] }) : json({ Rules: [{ Identifier: 'a12bCdEfGh3' }], NextToken: 'cGFnZS0y' });
    });
    const found = await listRetentionRules(rbin, 'EC2_IMAGE');
    expect(wire.violations()).toEqual([]);
    expect(
      wire.captured.map((request) => [request.check.service, request.action, (request.params as Record<string, unknown>).ResourceType, (request.params as Record<string, unknown>).NextToken]),
    ).toEqual([
      ['rbin', 'ListRules', 'EC2_IMAGE', undefined],
      ['rbin', 'ListRules', 'EC2_IMAGE', 'cGFnZS0y'],
      ['rbin', 'GetRule', undefined, undefined],
      ['rbin', 'GetRule', undefined, undefined],
    ]);
    expect((wire.captured[0]!.params as Record<string, unknown>).MaxResults).toBe(100);
    expect(found).toEqual([
      { id: 'a12bCdEfGh3', description: undefined, resourceType: 'EC2_IMAGE', retentionDays: 14, resourceTags: [], available: true, lockState: 'locked' },
      {
        id: 'b98zYxWvUt7',
        description: 'golden images',
        resourceType: 'EC2_IMAGE',
        retentionDays: 30,
        resourceTags: [
          { key: 'gild:image', value: undefined },
          { key: 'team', value: 'platform' },
        ],
        available: false,
        lockState: undefined,
      },
    ]);
    rbin.destroy();
  });

  it('the checker reads REST-JSON: the path label is the member, and a request AWS would refuse is a violation', () => {
    const signed = { authorization: 'AWS4-HMAC-SHA256 Credential=test/20261207/eu-west-1/rbin/aws4_request, SignedHeaders=host, Signature=0' };
    const getRule = checkWireRequest({ method: 'GET', url: '/rules/a12bCdEfGh3', headers: signed, body: '' });
    expect([getRule.service, getRule.operation, getRule.violations]).toEqual(['rbin', 'GetRule', []]);
    const badList = checkWireRequest({
      method: 'POST',
      url: '/list-rules',
      headers: { ...signed, 'content-type': 'application/json' },
      body: JSON.stringify({ ResourceType: 'AMI', MaxResults: 5000 }),
    });
    expect(badList.violations.map((violation) => [violation.operation, violation.member])).toEqual([
      ['ListRules', 'MaxResults'],
      ['ListRules', 'ResourceType'],
    ]);
    const missing = checkWireRequest({ method: 'POST', url: '/list-rules', headers: { ...signed, 'content-type': 'application/json' }, body: '{}' });
    expect(missing.violations.map((violation) => violation.member)).toEqual(['ResourceType']);
    const nowhere = checkWireRequest({ method: 'DELETE', url: '/nothing-here', headers: signed, body: '' });
    expect(nowhere.violations.map((violation) => violation.member)).toEqual(['(operation)']);
  });
});
