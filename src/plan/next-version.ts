/**
 * Authors own major.minor; gild owns the patch. Pure.
 */
import semver from 'semver';

export type NextVersion = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly reason: string };

export function newestVersion(versions: readonly string[]): string | undefined {
  return semver.rsort(versions.filter((version) => semver.valid(version) !== null))[0];
}

export function nextVersion(definitionVersion: string, publishedVersions: readonly string[]): NextVersion {
  const newest = newestVersion(publishedVersions);
  if (newest === undefined) return { ok: true, version: definitionVersion };
  const own = semver.parse(definitionVersion)!;
  const published = semver.parse(newest)!;
  if (own.major > published.major || (own.major === published.major && own.minor > published.minor)) {
    return { ok: true, version: definitionVersion };
  }
  if (own.major === published.major && own.minor === published.minor) {
    // NOTE: an author may raise the patch by hand (e.g. to skip a number); never go below it.
    const bumped = semver.inc(newest, 'patch')!;
    return { ok: true, version: semver.gt(definitionVersion, bumped) ? definitionVersion : bumped };
  }
  return {
    ok: false,
    reason: `version ${definitionVersion} is older than the published ${newest}. Set version to ${published.major}.${published.minor}.0 or higher (gild bumps the patch itself).`,
  };
}
