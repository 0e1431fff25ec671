/**
 * What the plan says about an image's generalize step when it departs from the default (everything cleared), so
 * that a reviewer of the plan sees an image captured with the build's identity and why.
 */
import type { ResolvedImage } from './resolved-image.ts';

export function describeGeneralizeChoice(image: Pick<ResolvedImage, 'generalize'>): string | undefined {
  const { generalize } = image;
  if (generalize.kind === 'off') return `not generalized (generalize turned off: ${generalize.reason || 'no reason given'})`;
  if (generalize.keep.length === 0) return undefined;
  return `generalized but keeps ${generalize.keep.join(', ')} (${generalize.reason ?? 'no reason given'})`;
}
