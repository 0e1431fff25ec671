import { describe, expect, it } from 'vitest';
import { cycloneDxSbom, manifestFromSbom } from '../../src/smoke/cyclonedx-sbom.ts';
import { dpkgManifest, rpmManifest } from '../../src/definition/presets.ts';

const subject = {
  image: 'web',
  version: '1.1.0',
  runId: 'run1',
  amiId: 'ami-0123456789abcdef0',
  preset: 'debian-12',
  packageManifestCommand: dpkgManifest,
  createdAt: new Date('2026-12-07T06:00:00Z'),
};
const manifest = 'busybox 1:1.35.0-4+deb12u1+b1\ntree 2.1.0-1\n';

describe('the CycloneDX SBOM of a package manifest', () => {
  it('lists every package with a deb package URL, and says which image, version, run and AMI it describes', () => {
    const sbom = cycloneDxSbom(subject, manifest) as {
      bomFormat: string;
      specVersion: string;
      serialNumber: string;
      metadata: { component: object; properties: { name: string; value: string }[] };
      components: object[];
    };
    expect(sbom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 });
    expect(sbom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(sbom.metadata.component).toEqual({ type: 'operating-system', 'bom-ref': 'web@1.1.0', name: 'web', version: '1.1.0' });
    expect(sbom.metadata.properties).toContainEqual({ name: 'gild:ami-id', value: 'ami-0123456789abcdef0' });
    expect(sbom.components).toEqual([
      {
        type: 'library',
        'bom-ref': 'pkg:deb/debian/busybox@1%3A1.35.0-4%2Bdeb12u1%2Bb1',
        name: 'busybox',
        version: '1:1.35.0-4+deb12u1+b1',
        purl: 'pkg:deb/debian/busybox@1%3A1.35.0-4%2Bdeb12u1%2Bb1',
      },
      { type: 'library', 'bom-ref': 'pkg:deb/debian/tree@2.1.0-1', name: 'tree', version: '2.1.0-1', purl: 'pkg:deb/debian/tree@2.1.0-1' },
    ]);
  });

  it('names the distribution of rpm packages from the preset', () => {
    const sbom = cycloneDxSbom({ ...subject, preset: 'amazon-linux-2023', packageManifestCommand: rpmManifest }, 'bash 5.2.15-1.amzn2023.x86_64\n') as { components: { purl: string }[] };
    expect(sbom.components[0]!.purl).toBe('pkg:rpm/amzn/bash@5.2.15-1.amzn2023.x86_64');
  });

  it('gives back the manifest it was made from, for the next version to diff against', () => {
    expect(manifestFromSbom(JSON.parse(JSON.stringify(cycloneDxSbom(subject, manifest))))).toBe(manifest);
    expect(manifestFromSbom({ bomFormat: 'SPDX' })).toBeUndefined();
  });
});
