/** Where an image's AMIs are published in Parameter Store. */
export const imageParameterPath = (prefix: string, image: string) => `${prefix}/${image}`;
export const latestParameterName = (prefix: string, image: string) => `${prefix}/${image}/latest`;
export const versionParameterName = (prefix: string, image: string, version: string) => `${prefix}/${image}/versions/${version}`;
export const lockParameterName = (prefix: string, image: string) => `${prefix}/${image}/lock`;

/** `/golden/web/versions/1.2.3` → `1.2.3`; anything else → undefined. */
export function versionFromParameterName(prefix: string, image: string, name: string): string | undefined {
  const head = `${prefix}/${image}/versions/`;
  return name.startsWith(head) ? name.slice(head.length) : undefined;
}
