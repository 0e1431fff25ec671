/**
 * Smoke timeouts stop at 172800 seconds (48 hours): a check's timeout is sent as AWS-RunShellScript's or
 * AWS-RunPowerShellScript's `executionTimeout`, whose allowedPattern stops there, and SSM refuses the SendCommand
 * past it (moto does not; the wire check now does). Before, any positive integer was accepted, and the smoke test
 * failed on AWS only once the image was built.
 */
import { describe, expect, it } from 'vitest';
import { formatIssues } from '../../src/definition/format-issues.ts';
import { maxCheckTimeoutSeconds } from '../../src/definition/schema.ts';
import { pipelineSettingsSchema } from '../../src/settings/schema.ts';
import { validateOne } from '../fixtures/definitions/validate-one.ts';

const tooLong = 'is more than 172800 seconds (48 hours), the most AWS-RunShellScript and AWS-RunPowerShellScript let a command run (their executionTimeout). Lower it to 172800 or less';

describe('smoke timeouts', () => {
  it('accept 172800 seconds, the most a run-script command may run', () => {
    expect(maxCheckTimeoutSeconds).toBe(172_800);
    const smoke = { checkTimeoutSeconds: 172_800, timeoutSeconds: 172_800, checks: [{ name: 'up', run: 'true', timeoutSeconds: 172_800 }] };
    expect(validateOne({ smoke }).errors).toEqual([]);
  });

  it("refuse more in an image's check, its checks' default and its smoke test, naming each field", () => {
    const smoke = { checkTimeoutSeconds: 172_801, timeoutSeconds: 2_592_000, checks: [{ name: 'up', run: 'true', timeoutSeconds: 200_000 }] };
    const { errors } = validateOne({ smoke });
    expect(errors).toHaveLength(3);
    for (const field of ['smoke.checkTimeoutSeconds', 'smoke.timeoutSeconds', 'smoke.checks[0].timeoutSeconds']) {
      expect(errors.find((error) => error.startsWith(`images/web.ts: ${field}: `))).toContain(tooLong);
    }
  });

  it('refuse more in pipeline/settings.ts', () => {
    const settings = { smoke: { checkTimeoutSeconds: 172_801, timeoutSeconds: 172_801 } };
    const parsed = pipelineSettingsSchema.safeParse(settings);
    expect(parsed.success).toBe(false);
    const messages = formatIssues('pipeline/settings.ts', settings, parsed.error!.issues);
    expect(messages).toHaveLength(2);
    for (const field of ['smoke.checkTimeoutSeconds', 'smoke.timeoutSeconds']) expect(messages.find((message) => message.startsWith(`pipeline/settings.ts: ${field}: `))).toContain(tooLong);
  });
});
