/**
 * What the notify grants refuse, evaluated like the recorded requests (test/support/iam-simulation.ts, with
 * conditions): a publish to a topic the settings do not name, an event with another source or detail-type, an event
 * naming no source; each next to its allowed twin.
 */
import { describe, expect, it } from 'vitest';
import { generatePolicy, scopeFromProject } from '../../src/iam/generate-policy.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { authorizationsOf } from '../support/iam-authorizations.ts';
import type { RecordedRequest } from '../support/iam-recorder.ts';
import { evaluate } from '../support/iam-simulation.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

const account = '123456789012';
const principal = `arn:aws:iam::${account}:role/gild-pipeline`;
const topic = `arn:aws:sns:eu-west-1:${account}:golden-images`;
const settings = pipelineSettingsSchema.parse({ accountId: account, notify: { sns: [topic], eventBridge: { source: 'com.example.gild' } } });
const policy = generatePolicy(scopeFromProject(settings, [resolvedImageFixture({ name: 'web', buildRegion: 'us-east-1' })]));

function request(fields: Partial<RecordedRequest> & Pick<RecordedRequest, 'service' | 'action'>): RecordedRequest {
  return { seq: 0, sender: 'gild', region: 'us-east-1', accessKeyId: 'test', json: {}, query: {}, tagsBefore: {}, status: 200, answer: '', ...fields } as RecordedRequest;
}

async function allowed(fields: Partial<RecordedRequest> & Pick<RecordedRequest, 'service' | 'action'>): Promise<boolean> {
  const authorizations = authorizationsOf(request(fields), { accountOf: () => account });
  expect(authorizations.length).toBeGreaterThan(0);
  for (const authorization of authorizations) if ((await evaluate(policy, authorization, principal)).result !== 'Allowed') return false;
  return true;
}

const publish = (topicArn: string) => ({ service: 'sns', action: 'Publish', region: 'eu-west-1', query: { Action: 'Publish', TopicArn: topicArn } });
const putEvents = (entries: object[], region = 'us-east-1') => ({ service: 'events', action: 'PutEvents', region, json: { Entries: entries } });

describe('the notify grants', () => {
  it('let gild publish to the configured topic (in a region it does not build in) and to no other', async () => {
    expect(await allowed(publish(topic))).toBe(true);
    expect(await allowed(publish(`arn:aws:sns:eu-west-1:${account}:someone-elses`))).toBe(false);
  });

  it("let gild put its own events on the bus in the build region, and refuse another source, another detail-type, a missing source and another region's bus", async () => {
    const gildEvent = { Source: 'com.example.gild', DetailType: 'gild.image.published', Detail: '{}' };
    expect(await allowed(putEvents([gildEvent]))).toBe(true);
    expect(await allowed(putEvents([gildEvent, { ...gildEvent, Source: 'aws.ec2' }]))).toBe(false);
    expect(await allowed(putEvents([{ ...gildEvent, DetailType: 'Order Placed' }]))).toBe(false);
    expect(await allowed(putEvents([gildEvent], 'ap-south-1'))).toBe(false);
    const [withoutSource] = authorizationsOf(request(putEvents([gildEvent])), { accountOf: () => account });
    const { 'events:source': _source, ...context } = withoutSource!.context;
    expect((await evaluate(policy, { ...withoutSource!, context }, principal)).result).not.toBe('Allowed');
  });
});
