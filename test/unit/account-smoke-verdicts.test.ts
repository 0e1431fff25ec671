import { describe, expect, it } from 'vitest';
import { regionVerdicts } from '../../src/stages/account-smoke.ts';
import type { SmokeResult } from '../../src/stages/stage.ts';

const now = new Date('2026-12-07T12:00:00Z');
const passed: SmokeResult = { result: 'passed', checks: [] };
const skipped: SmokeResult = { result: 'skipped', reason: 'no t3.micro in ap-south-1' };

describe('account smoke verdict tags', () => {
  it("tags each region's copy from its own region's result: a skipped region stays untested beside a passed one", () => {
    const verdicts = regionVerdicts({ 'us-east-1': 'ami-1', 'ap-south-1': 'ami-2' }, ['us-east-1', 'ap-south-1'], [passed, skipped], passed, now);
    expect(verdicts['us-east-1']).toEqual({ 'gild:status': 'tested', 'gild:tested-at': now.toISOString() });
    expect(verdicts['ap-south-1']).toEqual({ 'gild:status': 'untested', 'gild:smoke-skipped': expect.stringContaining('t3.micro') });
  });

  it("tags a copy in a region not tested on its own with the account's verdict (the first-region test covers it)", () => {
    const verdicts = regionVerdicts({ 'us-east-1': 'ami-1', 'eu-west-1': 'ami-2' }, ['us-east-1'], [passed], passed, now);
    expect(verdicts['eu-west-1']).toEqual({ 'gild:status': 'tested', 'gild:tested-at': now.toISOString() });
  });
});
