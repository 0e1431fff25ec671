/**
 * The exit-1 message of a failed run says what happened to each failed image: nothing published, or published in the
 * building account with only its distribution to another account failed.
 */
import { describe, expect, it } from 'vitest';
import { catalogue } from '../../src/errors.ts';

describe('the failed-run message', () => {
  it('says the building account published an image whose distribution step failed, and nothing was published for the others', () => {
    expect(catalogue.EPIPELINE([{ image: 'web', stage: 'account-publish' }, { image: 'api', stage: 'smoke' }, 'db']).message).toBe(
      '2 images failed: api, db. Nothing was published for them; see the logs above. 1 image failed in a distribution account: web (account-publish). The building account published it; the next run finishes the distribution (see the logs above).',
    );
    for (const stage of ['distribute', 'account-smoke', 'account-publish']) {
      expect(catalogue.EPIPELINE([{ image: 'web', stage }]).message).not.toContain('Nothing was published');
    }
  });
});
