import { describe, expect, it } from 'vitest';
import { amiTaggingIn, failureReason, parseArtifactLines, parseManifest } from '../../src/adapters/packer.ts';
import { gatedSettings, isAtLeast, supportsRequiredPlugins } from '../../src/render/packer-capabilities.ts';

describe('parseArtifactLines', () => {
  it('maps each region to its AMI, decoding Packer commas', () => {
    const output = [
      '1795903243,,ui,say,==> amazon-ebs.web: Creating AMI',
      '1795903250,amazon-ebs.web,artifact-count,1',
      '1795903250,amazon-ebs.web,artifact,0,builder-id,mitchellh.amazonebs',
      '1795903250,amazon-ebs.web,artifact,0,id,us-east-1:ami-60d1a0b1%!(PACKER_COMMA)us-west-2:ami-9ed6c2d3',
      '1795903250,amazon-ebs.web,artifact,0,end',
    ].join('\n');
    expect(parseArtifactLines(output)).toEqual({ 'us-east-1': 'ami-60d1a0b1', 'us-west-2': 'ami-9ed6c2d3' });
  });

  it('finds nothing in output without artifacts', () => {
    expect(parseArtifactLines('1795903243,,ui,error,Build errored\n')).toEqual({});
  });
});

describe('amiTaggingIn', () => {
  it("finds the AMI in Packer's say line before it tags it, whichever region it is", () => {
    // As Packer 1.6.6 prints them (ui lines have an empty target), build and copy regions in Go's map order.
    expect(amiTaggingIn('1796623422,,ui,say,==> amazon-ebs.al2023-base: Adding tags to AMI (ami-bc7c6c16bc9b5d0f4)...')).toBe('ami-bc7c6c16bc9b5d0f4');
    expect(amiTaggingIn('1796623423,amazon-ebs.web,ui,say,==> amazon-ebs.web: Adding tags to AMI (ami-2eba28872340e8ad0)...')).toBe('ami-2eba28872340e8ad0');
  });

  it('takes no other line for it: a provisioner printing the same words, a snapshot being tagged, an error', () => {
    for (const line of [
      '1796623422,,ui,message,    amazon-ebs.web: ==> amazon-ebs.web: Adding tags to AMI (ami-0123456789abcdef0)...',
      '1796623422,,ui,say,==> amazon-ebs.web: Tagging snapshot: snap-0123456789abcdef0',
      '1796623422,,ui,say,==> amazon-ebs.web: Creating AMI tags',
      '1796623422,,ui,error,==> amazon-ebs.web: Adding tags to AMI (ami-0123456789abcdef0)...',
      '1796623422,,ui,say,==> amazon-ebs.web: Adding tags to AMI (ami-0123456789abcdef0)... and more',
      '',
    ])
      expect(amiTaggingIn(line)).toBeUndefined();
  });
});

describe('parseManifest', () => {
  it("reads only this run's builds from a manifest that earlier runs appended to", () => {
    const manifest = JSON.stringify({
      builds: [
        { name: 'web', artifact_id: 'us-east-1:ami-old', packer_run_uuid: 'run-a' },
        { name: 'web', artifact_id: 'us-east-1:ami-new,eu-west-1:ami-copy', packer_run_uuid: 'run-b' },
      ],
      last_run_uuid: 'run-b',
    });
    expect(parseManifest(manifest)).toEqual({ 'us-east-1': 'ami-new', 'eu-west-1': 'ami-copy' });
  });
});

describe('failureReason', () => {
  it("names the build's own last error, on one line", () => {
    const output = [
      '1795903243,,ui,error,==> amazon-ebs.x: Error querying AMI: RequestError: send request failed\\n==> amazon-ebs.x: caused by: refused',
      "1795903243,,ui,error,\\n==> Some builds didn't complete successfully and had errors:",
      '1795903243,amazon-ebs.x,error,Error querying AMI: InvalidAMIID.NotFound%!(PACKER_COMMA) no such image\\ncaused by: 400',
      '1795903243,,ui,say,\\n==> Builds finished but no artifacts were created.',
    ].join('\n');
    expect(failureReason(output, 1)).toBe('Error querying AMI: InvalidAMIID.NotFound, no such image; caused by: 400');
  });

  it('falls back to the last ui error line, then to the exit code', () => {
    expect(failureReason('1,,ui,error,Error: Unsupported argument\\nfoo\n', 1)).toBe('Error: Unsupported argument; foo');
    expect(failureReason('', 2)).toBe('packer exited with code 2');
  });
});

describe('packer capabilities', () => {
  it('compares versions component by component', () => {
    expect(isAtLeast({ major: 1, minor: 10, patch: 0 }, { major: 1, minor: 7, patch: 0 })).toBe(true);
    expect(isAtLeast({ major: 1, minor: 6, patch: 6 }, { major: 1, minor: 7, patch: 0 })).toBe(false);
    expect(isAtLeast({ major: 2, minor: 0, patch: 0 }, { major: 1, minor: 9, patch: 9 })).toBe(true);
  });

  it('uses required_plugins from Packer 1.7 on', () => {
    expect(supportsRequiredPlugins({ major: 1, minor: 6, patch: 6 })).toBe(false);
    expect(supportsRequiredPlugins({ major: 1, minor: 7, patch: 0 })).toBe(true);
  });

  it('gates nothing that decides who can launch the image: gild shares itself, with any Packer', () => {
    expect(gatedSettings.filter((setting) => setting.whenMissing === 'refuse').map((setting) => setting.name)).toEqual([]);
    expect(gatedSettings.map((setting) => setting.name)).not.toContain('ami_org_arns');
  });
});
