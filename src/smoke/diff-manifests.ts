/**
 * Pure diff of two package manifests (`name version` per line, as the OS
 * presets' packageManifestCommand prints them).
 */
export interface ManifestDiff {
  readonly added: readonly { readonly name: string; readonly version: string }[];
  readonly removed: readonly { readonly name: string; readonly version: string }[];
  readonly changed: readonly { readonly name: string; readonly from: string; readonly to: string }[];
}

/**
 * Parses a manifest into name → version. A package installed in several
 * versions (e.g. kernels) keeps every version, joined in sorted order, so that
 * adding one more kernel shows as a change.
 */
export function parseManifest(text: string): Map<string, string> {
  const versions = new Map<string, string[]>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line) continue;
    const [name, ...rest] = line.split(/\s+/);
    if (!name) continue;
    const list = versions.get(name) ?? [];
    list.push(rest.join(' '));
    versions.set(name, list);
  }
  return new Map([...versions].map(([name, list]) => [name, [...new Set(list)].sort().join(', ')]));
}

export function diffManifests(previous: string, current: string): ManifestDiff {
  const before = parseManifest(previous);
  const after = parseManifest(current);
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const added = [...after].filter(([name]) => !before.has(name)).map(([name, version]) => ({ name, version }));
  const removed = [...before].filter(([name]) => !after.has(name)).map(([name, version]) => ({ name, version }));
  const changed = [...after].filter(([name, version]) => before.has(name) && before.get(name) !== version).map(([name, to]) => ({ name, from: before.get(name)!, to }));
  return { added: added.sort(byName), removed: removed.sort(byName), changed: changed.sort(byName) };
}

export function isEmptyDiff(diff: ManifestDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

/** Summary lines for the end-of-run report. */
export function describeManifestDiff(diff: ManifestDiff, previousVersion: string): string[] {
  if (isEmptyDiff(diff)) return [`packages: unchanged since ${previousVersion}`];
  return [
    `packages since ${previousVersion}: ${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed`,
    ...diff.added.map((entry) => `  + ${entry.name} ${entry.version}`),
    ...diff.removed.map((entry) => `  - ${entry.name} ${entry.version}`),
    ...diff.changed.map((entry) => `  ~ ${entry.name} ${entry.from} → ${entry.to}`),
  ];
}
