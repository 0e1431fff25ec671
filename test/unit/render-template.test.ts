import { parse } from '@cdktf/hcl2json';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResolvedImage } from '../../src/definition/resolved-image.ts';
import { isGildError } from '../../src/errors.ts';
import { createMemoryLogger } from '../../src/logger.ts';
import { renderImage, type RenderInput } from '../../src/render/render-template.ts';
import { emulatorProfile } from '../../src/target/emulator-profile.ts';
import { renderInputFixture, resolvedImageFixture } from '../support/resolved-image-fixture.ts';
import { renderTwin } from '../../src/target/container-twins.ts';

let workDir: string;
beforeEach(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'gild-render-'));
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

type Settings = Record<string, any>;

async function render(image: ResolvedImage, input: Partial<RenderInput> = {}) {
  const logger = createMemoryLogger();
  const rendered = await renderImage(image, { ...renderInputFixture(path.join(workDir, 'out')), logger, ...input });
  const text = await readFile(path.join(rendered.dir, 'image.pkr.hcl'), 'utf8');
  const parsed = (await parse('image.pkr.hcl', text)) as Settings;
  const source: Settings = parsed.source['amazon-ebs'][image.name][0];
  const build: Settings = parsed.build[0];
  return { rendered, text, source, build, logger };
}

async function renderError(image: ResolvedImage, input: Partial<RenderInput> = {}) {
  const error = await render(image, input).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!isGildError(error)) throw new Error(`expected a GildError, got ${String(error)}`);
  return error;
}

describe('renderImage', () => {
  it('writes image.pkr.hcl with the source, the AMI name and a manifest in the output folder', async () => {
    const { rendered, source, build } = await render(resolvedImageFixture());
    expect(rendered.files).toEqual([path.join(workDir, 'out', 'image.pkr.hcl')]);
    expect(source).toMatchObject({ region: 'us-east-1', source_ami: 'ami-1e749f67', instance_type: 't3.micro', ami_name: 'web-1.0.0-20261128T120000Z' });
    // NOTE: the share step sets the description after tagging; Packer would set it before.
    expect(source.ami_description).toBeUndefined();
    expect(build.sources).toEqual(['source.amazon-ebs.web']);
    expect(build['post-processor'].manifest[0].output).toBe(path.join(workDir, 'out', 'manifest.json'));
  });

  it('renders a minimal Linux image for Packer 1.6 like this', async () => {
    const { text } = await render(resolvedImageFixture({ provision: [{ kind: 'shell', inline: ['sudo dnf -y update'], env: {}, expectDisconnect: false, pauseBefore: undefined }] }));
    expect(text.replaceAll(workDir, '<work>')).toMatchInlineSnapshot(`
      "# Rendered by gild for image "web". Do not edit: change the image definition and run gild again.

      source "amazon-ebs" "web" {
        region                  = "us-east-1"
        source_ami              = "ami-1e749f67"
        instance_type           = "t3.micro"
        ami_name                = "web-1.0.0-20261128T120000Z"
        ami_virtualization_type = "hvm"
        tags = {
          "team"         = "platform"
          "gild:image"   = "web"
          "gild:version" = "1.0.0"
        }
        run_tags = {
          "gild:run-id" = "run-1"
          "gild:role"   = "build"
        }
        run_volume_tags = {
          "gild:run-id" = "run-1"
          "gild:role"   = "build"
        }
        temporary_iam_instance_profile_policy_document {
          Version = "2012-10-17"
          Statement {
            Effect   = "Allow"
            Action   = ["ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument", "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter", "ssm:GetParameters", "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutInventory", "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult", "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus", "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel", "ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"]
            Resource = ["*"]
          }
        }
        communicator              = "ssh"
        ssh_username              = "ec2-user"
        ssh_clear_authorized_keys = true
      }

      build {
        sources = ["source.amazon-ebs.web"]

        provisioner "shell" {
          inline = ["sudo dnf -y update"]
        }

        provisioner "shell" {
          script = "<work>/out/gild-record-identity.sh"
        }

        provisioner "file" {
          direction   = "download"
          source      = "/tmp/gild-build-identity.txt"
          destination = "<work>/out/build-identity.txt"
        }

        provisioner "shell" {
          script = "<work>/out/gild-generalize.sh"
        }

        post-processor "manifest" {
          output     = "<work>/out/manifest.json"
          strip_path = true
        }
      }
      "
    `);
  });

  it('replaces what an earlier render wrote and keeps a file it did not write', async () => {
    const outDir = path.join(workDir, 'out');
    await render(resolvedImageFixture());
    await writeFile(path.join(outDir, 'notes.txt'), 'mine');
    await render(resolvedImageFixture(), { tags: { note: 'second render' } });
    expect(await readFile(path.join(outDir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(await readFile(path.join(outDir, 'image.pkr.hcl'), 'utf8')).toContain('second render');
  });

  it('writes plugins.pkr.hcl requiring the amazon plugin only for Packer 1.7 and later', async () => {
    const old = await render(resolvedImageFixture());
    expect(old.rendered.files.map((file) => path.basename(file))).toEqual(['image.pkr.hcl']);
    const modern = await render(resolvedImageFixture(), { packer: { major: 1, minor: 11, patch: 2 } });
    expect(modern.rendered.files.map((file) => path.basename(file))).toEqual(['image.pkr.hcl', 'plugins.pkr.hcl']);
    const plugins = (await parse('plugins.pkr.hcl', await readFile(modern.rendered.files[1] as string, 'utf8'))) as Settings;
    expect(plugins.packer[0].required_plugins[0].amazon).toEqual({ source: 'github.com/hashicorp/amazon', version: '>= 1.2.2' });
  });

  it('copies to the copy regions and tags the AMI, its snapshots and the build resources', async () => {
    const { source } = await render(resolvedImageFixture({ copyRegions: ['us-west-2', 'eu-west-1'] }));
    expect(source.ami_regions).toEqual(['us-west-2', 'eu-west-1']);
    const amiTags = { team: 'platform', 'gild:image': 'web', 'gild:version': '1.0.0' };
    expect(source.tags).toEqual(amiTags);
    // Packer tags the snapshots with `tags` in the same call as the AMI; a second call with snapshot_tags would be denied on AWS.
    expect(source).not.toHaveProperty('snapshot_tags');
    expect(source.run_tags).toEqual({ 'gild:run-id': 'run-1', 'gild:role': 'build' });
    expect(source.run_volume_tags).toEqual({ 'gild:run-id': 'run-1', 'gild:role': 'build' });
  });

  // gild shares after the smoke test itself (the share step): Packer would share before tagging and testing the AMI.
  const org = 'arn:aws:organizations::123456789012:organization/o-abcdefghij';
  const ou = 'arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34';
  it.each([
    ['implicit', { kind: 'implicit' }],
    ['accounts', { kind: 'explicit', accounts: ['111122223333'], organizationArns: [], organizationalUnitArns: [] }],
    ['organizations and OUs', { kind: 'explicit', accounts: [], organizationArns: [org], organizationalUnitArns: [ou] }],
    ['public', { kind: 'public', reason: 'community image' }],
  ] as const)('renders no sharing into Packer for %s launch permissions', async (_kind, launchPermissions) => {
    const { source } = await render(resolvedImageFixture({ launchPermissions }));
    for (const name of ['ami_users', 'snapshot_users', 'ami_groups', 'snapshot_groups', 'ami_org_arns', 'ami_ou_arns']) expect(source).not.toHaveProperty(name);
  });

  it('renders organisation sharing with Packer 1.6 too: gild shares it, not Packer', async () => {
    const { source } = await render(resolvedImageFixture({ launchPermissions: { kind: 'explicit', accounts: [], organizationArns: [org], organizationalUnitArns: [ou] } }));
    expect(source).not.toHaveProperty('ami_org_arns');
  });

  it('encrypts the boot volume with a key for every copy region', async () => {
    const { source } = await render(resolvedImageFixture({ copyRegions: ['us-west-2', 'eu-west-1'], encryption: { kmsKeyId: 'alias/gild', regionKmsKeyIds: { 'eu-west-1': 'alias/gild-eu' } } }));
    expect(source).toMatchObject({ encrypt_boot: true, kms_key_id: 'alias/gild', region_kms_key_ids: { 'us-west-2': 'alias/gild', 'eu-west-1': 'alias/gild-eu' } });
  });

  it('renders block devices, with gp3 always carrying its iops and throughput', async () => {
    const { source } = await render(
      resolvedImageFixture({
        launchBlockDevices: [{ deviceName: '/dev/xvda', sizeGiB: 30, type: 'gp3', deleteOnTermination: true }],
        amiBlockDevices: [
          { deviceName: '/dev/xvdb', sizeGiB: 100, type: 'io2', iops: 8000, encrypted: true, kmsKeyId: 'alias/data', deleteOnTermination: false, snapshotId: 'snap-0123456789abcdef0' },
        ],
      }),
    );
    expect(source.launch_block_device_mappings).toEqual([{ device_name: '/dev/xvda', volume_size: 30, volume_type: 'gp3', iops: 3000, throughput: 125, delete_on_termination: true }]);
    expect(source.ami_block_device_mappings).toEqual([
      { device_name: '/dev/xvdb', volume_size: 100, volume_type: 'io2', iops: 8000, encrypted: true, kms_key_id: 'alias/data', delete_on_termination: false, snapshot_id: 'snap-0123456789abcdef0' },
    ]);
  });

  it('sets deprecate_at the configured number of days ahead on Packer 1.7 and later', async () => {
    const { source } = await render(resolvedImageFixture({ deprecateAfterDays: 30 }), { packer: { major: 1, minor: 8, patch: 0 } });
    expect(source.deprecate_at).toBe('2026-12-28T12:00:00Z');
  });

  it('requires IMDSv2 on Packer 1.7 and later', async () => {
    const { source } = await render(resolvedImageFixture(), { packer: { major: 1, minor: 8, patch: 0 } });
    expect(source.metadata_options).toEqual([{ http_endpoint: 'enabled', http_tokens: 'required', http_put_response_hop_limit: 1 }]);
    expect(source.imds_support).toBe('v2.0');
  });

  it('leaves out IMDSv2 and deprecation on Packer 1.6 and says which Packer adds them', async () => {
    const { source, logger } = await render(resolvedImageFixture({ deprecateAfterDays: 30 }));
    expect(source).not.toHaveProperty('metadata_options');
    expect(source).not.toHaveProperty('imds_support');
    expect(source).not.toHaveProperty('deprecate_at');
    expect(logger.lines.filter((line) => line.startsWith('warn:'))).toEqual([
      expect.stringContaining('left out "metadata_options" because Packer 1.6.6 does not support it (Packer 1.7.0'),
      expect.stringContaining('left out "imds_support"'),
      expect.stringContaining('left out "deprecate_at"'),
    ]);
  });

  it('places the build in the given network', async () => {
    const { source } = await render(resolvedImageFixture({ buildInfrastructure: { vpcId: 'vpc-1', subnetId: 'subnet-1', securityGroupIds: ['sg-1', 'sg-2'] } }));
    expect(source).toMatchObject({ vpc_id: 'vpc-1', subnet_id: 'subnet-1', security_group_ids: ['sg-1', 'sg-2'] });
  });

  it('picks the subnet by filter when no subnet is named', async () => {
    const { source } = await render(resolvedImageFixture({ buildInfrastructure: { subnetFilter: { 'tag:Role': 'build' } } }));
    expect(source.subnet_filter).toEqual([{ filters: { 'tag:Role': 'build' }, most_free: true }]);
  });

  it('gives the build instance a temporary Session Manager profile unless one is named', async () => {
    const temporary = await render(resolvedImageFixture({ buildInfrastructure: { sessionManager: true } }));
    const policy = temporary.source.temporary_iam_instance_profile_policy_document[0];
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement[0].Action).toEqual(expect.arrayContaining(['ssm:UpdateInstanceInformation', 'ssmmessages:OpenDataChannel', 'ec2messages:GetMessages']));
    expect(temporary.source.ssh_interface).toBe('session_manager');
    const named = await render(resolvedImageFixture({ buildInfrastructure: { instanceProfile: 'packer-build', temporaryInstanceProfile: false } }));
    expect(named.source.iam_instance_profile).toBe('packer-build');
    expect(named.source).not.toHaveProperty('temporary_iam_instance_profile_policy_document');
  });

  it('connects to Linux over SSH as the image user', async () => {
    const { source } = await render(resolvedImageFixture({ buildInfrastructure: { sshUsername: 'ubuntu' } }));
    expect(source).toMatchObject({ communicator: 'ssh', ssh_username: 'ubuntu' });
    expect(source).not.toHaveProperty('ssh_interface');
  });

  it('connects to Windows over WinRM with HTTPS that the user data turns on', async () => {
    const { source } = await render(resolvedImageFixture({ platform: 'windows', buildInfrastructure: { sshUsername: 'Administrator' } }));
    expect(source).toMatchObject({ communicator: 'winrm', winrm_username: 'Administrator', winrm_use_ssl: true, winrm_insecure: true });
    expect(source.user_data).toContain('<powershell>');
    expect(source.user_data).toContain('-Transport HTTPS');
  });

  it('turns each provision step into a provisioner, in order', async () => {
    const { build, text } = await render(
      resolvedImageFixture({
        provision: [
          { kind: 'shell', inline: ['dnf -y update'], env: { STAGE: 'base' }, expectDisconnect: true, pauseBefore: '5s' },
          { kind: 'script', path: '/project/images/scripts/harden.sh', env: {}, expectDisconnect: false, pauseBefore: undefined },
          { kind: 'upload', source: '/project/images/files/motd', destination: '/etc/motd', pauseBefore: undefined },
        ],
      }),
    );
    const outDir = path.join(workDir, 'out');
    expect(build.provisioner.shell).toEqual([
      { inline: ['dnf -y update'], environment_vars: ['STAGE=base'], expect_disconnect: true, pause_before: '5s' },
      { script: '/project/images/scripts/harden.sh' },
      { script: path.join(outDir, 'gild-record-identity.sh') },
      { script: path.join(outDir, 'gild-generalize.sh') },
    ]);
    expect(build.provisioner.file).toEqual([
      { source: '/project/images/files/motd', destination: '/etc/motd' },
      { direction: 'download', source: '/tmp/gild-build-identity.txt', destination: path.join(outDir, 'build-identity.txt') },
    ]);
    // The definition's steps in order (the upload after both shell steps), then gild's record and generalize steps.
    expect(text.indexOf('provisioner "file"')).toBeGreaterThan(text.indexOf('harden.sh'));
    expect(text.indexOf('gild-record-identity.sh')).toBeGreaterThan(text.indexOf('/etc/motd'));
  });

  it('renders PowerShell and Windows restarts for Windows images', async () => {
    const { build } = await render(
      resolvedImageFixture({
        platform: 'windows',
        provision: [
          { kind: 'powershell', inline: ['Install-WindowsFeature Web-Server'], env: { SITE: 'default' }, pauseBefore: undefined },
          { kind: 'restart', timeout: '15m', pauseBefore: undefined },
        ],
      }),
    );
    expect(build.provisioner.powershell[0]).toEqual({ inline: ['Install-WindowsFeature Web-Server'], environment_vars: ['SITE=default'] });
    expect(build.provisioner['windows-restart']).toEqual([{ restart_timeout: '15m' }]);
  });

  it('patches first and tags the AMI and its snapshots gild:patched-at with the build time, not for the emulator, where nothing runs', async () => {
    const image = resolvedImageFixture({ patch: { enabled: true, packageManager: 'dnf' }, provision: [{ kind: 'shell', inline: ['true'], env: {}, expectDisconnect: false, pauseBefore: undefined }] });
    const tags = { 'gild:image': 'web', 'gild:built-at': '2026-11-28T12:00:00.000Z' };
    const { source, text } = await render(image, { tags });
    expect(source.tags).toEqual({ ...tags, 'gild:patched-at': '2026-11-28T12:00:00.000Z' });
    // NOTE: no snapshot_tags: Packer tags the snapshots with these tags in the same call (src/render/source-settings.ts).
    expect(source).not.toHaveProperty('snapshot_tags');
    expect(text.indexOf('gild-patch.sh')).toBeGreaterThan(0);
    expect(text.indexOf('gild-patch.sh')).toBeLessThan(text.indexOf('inline = ["true"]'));
    const script = await readFile(path.join(workDir, 'out', 'gild-patch.sh'), 'utf8');
    expect(script).toContain('dnf -y upgrade --releasever=latest');
    const emulated = await render(image, { tags, target: emulatorProfile({ endpoint: 'http://127.0.0.1:5000' }).packer });
    expect(emulated.source.tags).toEqual(tags);
    expect(emulated.logger.lines).toContain(
      'info: Left out gild\'s patch and generalize steps of image "web": the emulator\'s instances have no OS to run them on, so the AMI is not patched or generalized there.',
    );
    expect((await render(resolvedImageFixture(), { tags })).source.tags).toEqual(tags);
  });

  it("leaves the build as it is when generalize is off, and keeps Packer's key when authorized-keys is kept", async () => {
    const off = await render(resolvedImageFixture({ generalize: { kind: 'off', reason: 'forensics', bare: false } }));
    expect(off.text).not.toContain('gild-generalize.sh');
    expect(off.source).not.toHaveProperty('ssh_clear_authorized_keys');
    const kept = await render(resolvedImageFixture({ generalize: { kind: 'on', keep: ['authorized-keys'], reason: 'a break-glass key', launchAgent: undefined } }));
    expect(kept.source).not.toHaveProperty('ssh_clear_authorized_keys');
    expect(kept.text).toContain('gild-generalize.sh');
    const windowsOff = await render(resolvedImageFixture({ platform: 'windows', generalize: { kind: 'off', reason: 'own sysprep', bare: false } }));
    expect(windowsOff.source).not.toHaveProperty('disable_stop_instance');
    expect(windowsOff.text).not.toContain('windows-shell');
  });

  it('runs the EC2Launch generation the preset carries, or the one installed when no preset says', async () => {
    const sysprep = async (launchAgent: 'ec2launch-v1' | 'ec2launch-v2' | undefined) =>
      (await render(resolvedImageFixture({ platform: 'windows', generalize: { kind: 'on', keep: [], reason: undefined, launchAgent } }))).build.provisioner['windows-shell'];
    expect(await sysprep('ec2launch-v1')).toEqual([
      {
        inline: [
          'powershell -NoProfile -ExecutionPolicy Bypass -File "C:\\ProgramData\\Amazon\\EC2-Windows\\Launch\\Scripts\\InitializeInstance.ps1" -Schedule',
          'powershell -NoProfile -ExecutionPolicy Bypass -File "C:\\ProgramData\\Amazon\\EC2-Windows\\Launch\\Scripts\\SysprepInstance.ps1"',
        ],
      },
    ]);
    expect(await sysprep(undefined)).toEqual([
      {
        inline: [
          expect.stringMatching(
            /^if exist "%ProgramFiles%\\Amazon\\EC2Launch\\ec2launch\.exe" \(.+ sysprep --shutdown=true\) else \(.+InitializeInstance\.ps1" -Schedule && .+SysprepInstance\.ps1"\)$/,
          ),
        ],
      },
    ]);
  });

  it('renders a container twin on the emulator: a docker source beside the amazon one, the same provisioners restricted to it, after the twin setup', async () => {
    const image = resolvedImageFixture({
      preset: 'debian-12',
      provision: [{ kind: 'shell', inline: ['sudo apt-get install -y busybox'], env: { A: 'b' }, expectDisconnect: false, pauseBefore: undefined }],
    });
    const twin = renderTwin(image, { containerImage: 'debian:12', version: '1.0.0', runId: 'run1' });
    const real = await render(image);
    const emulated = await render(image, { target: emulatorProfile({ endpoint: 'http://127.0.0.1:5000' }).packer, twin });
    const parsed = (await parse('image.pkr.hcl', emulated.text)) as Settings;
    expect(parsed.source.docker.web[0]).toMatchObject({ image: 'debian:12', commit: true, pull: false });
    expect(emulated.build.sources).toEqual(['source.amazon-ebs.web', 'source.docker.web']);
    // The twin's setup first, then every provisioner of the real build (gild's patch and generalize steps too), each
    // restricted to the twin.
    expect(emulated.build.provisioner.shell).toHaveLength(real.build.provisioner.shell.length + 1);
    expect(emulated.build.provisioner.shell[0].only).toEqual(['docker.web']);
    for (const type of Object.keys(real.build.provisioner)) {
      const twinned = emulated.build.provisioner[type].slice(type === 'shell' ? 1 : 0);
      expect(twinned.map(({ only }: { only: unknown }) => only)).toEqual(real.build.provisioner[type].map(() => ['docker.web']));
      expect(twinned.map(({ only, ...same }: { only: unknown }) => same)).toEqual(real.build.provisioner[type]);
    }
    expect(emulated.logger.lines.join('\n')).not.toContain('Left out');
    expect(emulated.build['post-processor']['docker-tag'][0]).toMatchObject({ only: ['docker.web'], repository: 'localhost/gild-twin/web', tags: ['1.0.0-run1'] });
    expect(real.text).not.toMatch(/docker/);
  });

  it('renders for the emulator with its endpoint, no communicator, no provisioners and no temporary profile, and says so', async () => {
    const image = resolvedImageFixture({ provision: [{ kind: 'shell', inline: ['true'], env: {}, expectDisconnect: false, pauseBefore: undefined }] });
    const real = await render(image);
    const emulated = await render(image, { target: emulatorProfile({ endpoint: 'http://127.0.0.1:5000' }).packer });
    expect(emulated.source).toMatchObject({ custom_endpoint_ec2: 'http://127.0.0.1:5000', skip_region_validation: true, communicator: 'none' });
    expect(emulated.build).not.toHaveProperty('provisioner');
    expect(emulated.logger.lines).toContain('info: Left out the 1 provisioner of image "web": the emulator\'s instances have no OS to run them on, and the image has no container twin.');
    expect(emulated.logger.lines).toContain('info: Left out gild\'s generalize step of image "web": the emulator\'s instances have no OS to run them on, so the AMI is not generalized there.');
    const { custom_endpoint_ec2, skip_region_validation, communicator, ...emulatedRest } = emulated.source;
    const { temporary_iam_instance_profile_policy_document, communicator: realCommunicator, ssh_username, ssh_clear_authorized_keys, ...realRest } = real.source;
    expect(emulatedRest).toEqual(realRest);
  });

  it('merges packerSource settings into the source block with the same escaping', async () => {
    const { source } = await render(resolvedImageFixture({ packerSource: { shutdown_behavior: 'terminate', fleet_tags: { note: '${not-a-reference}' }, placement: [{ tenancy: 'dedicated' }] } }));
    expect(source.shutdown_behavior).toBe('terminate');
    expect(source.fleet_tags).toEqual({ note: '$${not-a-reference}' });
    expect(source.placement).toEqual([{ tenancy: 'dedicated' }]);
  });

  it('refuses a packerSource that would make the AMI public without public launch permissions', async () => {
    const error = await renderError(resolvedImageFixture({ packerSource: { ami_groups: ['all'] } }));
    expect(error.code).toBe('EDEFINITIONS');
    expect(error.details).toEqual([expect.stringMatching(/^images\/web\.ts: packerSource\.ami_groups: "all" would make the AMI public/)]);
  });

  it('refuses packerSource settings gild renders from the definition, naming the field to use', async () => {
    const error = await renderError(resolvedImageFixture({ packerSource: { encrypt_boot: false, ami_users: ['999999999999'] } }));
    expect(error.details).toEqual([
      'images/web.ts: packerSource.encrypt_boot: gild renders "encrypt_boot" from the definition and checks it there. Set encryption instead.',
      'images/web.ts: packerSource.ami_users: Packer would share the AMI before gild tags it and before its smoke test; gild applies launchPermissions itself, after the smoke test. Use launchPermissions.accounts instead.',
    ]);
  });

  it('includes the named partial inside the source block', async () => {
    const { source } = await render(resolvedImageFixture({ partial: 'spot-instances' }));
    expect(source.spot_price).toBe('auto');
  });

  it('refuses a partial that does not exist, listing the ones that do', async () => {
    const error = await renderError(resolvedImageFixture({ partial: 'nope' }));
    expect(error.details[0]).toMatch(/images\/web\.ts: partial: there is no templates\/partials\/nope\.pkr\.hcl\.hbs\. Known partials: .*spot-instances/);
  });

  it("renders with the definition's own template when it names one", async () => {
    const template = path.join(workDir, 'custom.pkr.hcl.hbs');
    await writeFile(
      template,
      'source "amazon-ebs" {{{hclString image.name}}} {\n{{{hclBody source}}}\n  ami_name_note = {{{hclString image.description}}}\n}\nbuild {\nsources = [{{{hclString sourceRef}}}]\n}\n',
    );
    const { source } = await render(resolvedImageFixture({ template, description: '<b>&"quoted"</b>' }));
    expect(source.ami_name_note).toBe('<b>&"quoted"</b>');
  });

  it('refuses a template that names a field it is not given, with the template, the line and the fields it has', async () => {
    const template = path.join(workDir, 'typo.pkr.hcl.hbs');
    await writeFile(template, 'source "amazon-ebs" {{{hclString image.name}}} {\n{{{hclBody source}}}\n}\n# {{sourceRf}}\n');
    const error = await renderError(resolvedImageFixture({ template }));
    expect(error.details).toEqual([
      `images/web.ts: template ${template} (or a partial it includes): line 4, column 5: "sourceRf" is not defined. A template is given image, source, provisioners, partial, sourceRef, manifestFile, twin; fix the name, or guard a field that may be absent with {{#if …}}.`,
    ]);
  });

  it('refuses a missing field passed to an HCL helper instead of rendering "undefined"', async () => {
    const template = path.join(workDir, 'typo.pkr.hcl.hbs');
    await writeFile(template, 'source "amazon-ebs" {{{hclString image.nmae}}} {\n{{{hclBody source}}}\n}\n');
    const error = await renderError(resolvedImageFixture({ template }));
    expect(error.details[0]).toContain('line 1, column 21: hclString was given a field that is not defined');
  });

  it('lets a template guard an absent field with {{#if}}', async () => {
    const template = path.join(workDir, 'guarded.pkr.hcl.hbs');
    await writeFile(
      template,
      'source "amazon-ebs" {{{hclString image.name}}} {\n{{{hclBody source}}}\n{{#if image.nothing}}broken{{/if}}{{#if partial}}{{> (lookup . "partial")}}{{/if}}\n}\nbuild {\nsources = [{{{hclString sourceRef}}}]\n}\n',
    );
    const { source } = await render(resolvedImageFixture({ template }));
    expect(source.ami_name).toBe('web-1.0.0-20261128T120000Z');
  });

  it('renders with a partial as it is now, also after an earlier render in the same process used it', async () => {
    const templatesDir = path.join(workDir, 'templates');
    await mkdir(path.join(templatesDir, 'partials'), { recursive: true });
    const template = path.join(templatesDir, 'with-partial.pkr.hcl.hbs');
    await writeFile(template, 'source "amazon-ebs" {{{hclString image.name}}} {\n{{{hclBody source}}}\n{{> price}}\n}\nbuild {\nsources = [{{{hclString sourceRef}}}]\n}\n');
    const partial = path.join(templatesDir, 'partials', 'price.pkr.hcl.hbs');
    await writeFile(partial, 'spot_price = "0.01"\n');
    expect((await render(resolvedImageFixture({ template }), { templatesDir })).source.spot_price).toBe('0.01');
    await writeFile(partial, 'spot_price = "0.02"\n');
    expect((await render(resolvedImageFixture({ template }), { templatesDir })).source.spot_price).toBe('0.02');
  });

  it('never HTML-escapes values', async () => {
    const { source, text } = await render(resolvedImageFixture(), { tags: { note: "Tom & Jerry <web> 'quoted'" } });
    expect(source.tags.note).toBe("Tom & Jerry <web> 'quoted'");
    expect(text).not.toContain('&amp;');
  });
});
