import { describe, expect, it } from 'vitest';
import { nextVersion } from '../../src/plan/next-version.ts';

describe('nextVersion', () => {
  it('uses the definition version for the first publish', () => {
    expect(nextVersion('1.4.0', [])).toEqual({ ok: true, version: '1.4.0' });
  });

  it('bumps the patch of the newest published version of the same major.minor', () => {
    expect(nextVersion('1.4.0', ['1.4.0', '1.4.2', '1.3.9'])).toEqual({ ok: true, version: '1.4.3' });
  });

  it('starts at the definition version when the author raises major or minor', () => {
    expect(nextVersion('1.5.0', ['1.4.7'])).toEqual({ ok: true, version: '1.5.0' });
    expect(nextVersion('2.0.0', ['1.4.7'])).toEqual({ ok: true, version: '2.0.0' });
  });

  it('keeps a patch the author raised by hand', () => {
    expect(nextVersion('1.4.9', ['1.4.2'])).toEqual({ ok: true, version: '1.4.9' });
  });

  it('refuses a definition older than what is published, saying which version to use', () => {
    const result = nextVersion('1.3.0', ['1.4.2']);
    expect(result).toEqual({ ok: false, reason: 'version 1.3.0 is older than the published 1.4.2. Set version to 1.4.0 or higher (gild bumps the patch itself).' });
  });

  it('compares versions numerically, not as text', () => {
    expect(nextVersion('1.10.0', ['1.9.0', '1.10.3'])).toEqual({ ok: true, version: '1.10.4' });
  });
});
