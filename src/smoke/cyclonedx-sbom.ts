/**
 * A package manifest (`name version` a line, from the image's package manager) as a CycloneDX 1.5 JSON SBOM: one
 * component per installed package, with a package URL when the package manager is known (deb, rpm). Pure: the
 * caller says what the image is and when.
 */
import { createHash } from 'node:crypto';

export interface SbomSubject {
  readonly image: string;
  readonly version: string;
  readonly runId: string;
  readonly amiId: string;
  /** The OS preset, which names the distribution in package URLs. */
  readonly preset: string | undefined;
  readonly packageManifestCommand: string;
  readonly createdAt: Date;
}

/** purl type and namespace: `pkg:deb/debian/…`, `pkg:rpm/amzn/…`; undefined when the manager is not one of these. */
function purlPrefix(subject: SbomSubject): string | undefined {
  const preset = subject.preset ?? '';
  if (subject.packageManifestCommand.startsWith('dpkg-query')) return `pkg:deb/${preset.startsWith('ubuntu') ? 'ubuntu' : 'debian'}`;
  if (subject.packageManifestCommand.startsWith('rpm ')) {
    const vendor = preset.startsWith('amazon-linux')
      ? 'amzn'
      : preset.startsWith('rhel')
        ? 'redhat'
        : preset.startsWith('fedora')
          ? 'fedora'
          : preset.startsWith('oracle')
            ? 'oracle'
            : preset.startsWith('sles')
              ? 'suse'
              : 'rpm';
    return `pkg:rpm/${vendor}`;
  }
  return undefined;
}

/** Deterministic, so the same manifest of the same version makes the same document (apart from its timestamp). */
function serialNumber(subject: SbomSubject, manifest: string): string {
  const hex = createHash('sha256').update(`${subject.image}\n${subject.version}\n${subject.runId}\n${manifest}`).digest('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

export function cycloneDxSbom(subject: SbomSubject, manifest: string): object {
  const prefix = purlPrefix(subject);
  const components = manifest
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name = '', ...rest] = line.split(/\s+/);
      const version = rest.join(' ');
      const purl = prefix ? `${prefix}/${encodeURIComponent(name)}@${encodeURIComponent(version)}` : undefined;
      return { type: 'library', 'bom-ref': purl ?? `${name}@${version}`, name, version, ...(purl ? { purl } : {}) };
    });
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: serialNumber(subject, manifest),
    version: 1,
    metadata: {
      timestamp: subject.createdAt.toISOString(),
      tools: { components: [{ type: 'application', name: 'gild' }] },
      component: { type: 'operating-system', 'bom-ref': `${subject.image}@${subject.version}`, name: subject.image, version: subject.version },
      properties: [
        { name: 'gild:image', value: subject.image },
        { name: 'gild:version', value: subject.version },
        { name: 'gild:run-id', value: subject.runId },
        { name: 'gild:ami-id', value: subject.amiId },
        { name: 'gild:package-manifest-command', value: subject.packageManifestCommand },
      ],
    },
    components,
  };
}

/** The manifest back from an SBOM gild wrote (`name version` a line), for the package diff. */
export function manifestFromSbom(sbom: unknown): string | undefined {
  const components =
    (sbom as { bomFormat?: string; components?: { name?: unknown; version?: unknown }[] } | undefined)?.bomFormat === 'CycloneDX'
      ? (sbom as { components?: { name?: unknown; version?: unknown }[] }).components
      : undefined;
  if (!Array.isArray(components)) return undefined;
  return components
    .filter((component) => typeof component.name === 'string' && typeof component.version === 'string')
    .map((component) => `${component.name as string} ${component.version as string}\n`)
    .join('');
}
