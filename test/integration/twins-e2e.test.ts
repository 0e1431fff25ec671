/**
 * Container twins end to end: the real CLI, real Packer 1.6.6 (amazon-ebs against moto, docker against Podman or
 * Docker) and the SSM Run Command stand-in in front of moto. A Debian image's provisioning runs in its twin, its
 * checks run in fresh containers of the twin, and every verdict is read back from the report. Needs a container
 * engine and the Debian base image (bash .ci/setup-containers.sh), as CI has.
 */
import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createS3Client } from '../../src/adapters/s3.ts';
import { cycloneDxSbom } from '../../src/smoke/cyclonedx-sbom.ts';
import { parametersUnder } from '../support/aws-state.ts';
import { startMoto, type MotoServer } from '../support/moto.ts';
import { createTempProject, type TempProject } from '../support/project.ts';

let moto: MotoServer;
let env: Record<string, string>;
beforeAll(async () => {
  moto = await startMoto();
  env = { ...moto.env, GILD_SSM_STAND_IN: '1', GILD_SSM_REGISTRATION_DELAY_MS: '500', GILD_SMOKE_POLL_MS: '300' };
});
afterAll(async () => {
  await moto?.stop();
});
/** `gild test` needs no AWS at all: no endpoint, no credentials. */
const noAws = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' });

const provisionScript = (extraPackages: string) => `#!/bin/sh
set -eu
sudo apt-get update -qq
sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox ${extraPackages}
sudo mkdir -p /srv/www
echo "served as \${GREETING}" | sudo tee /srv/www/index.html >/dev/null
`;

const debianImage = (fields: { version: string; checks: string }) => `import { defineImage } from 'gild';
export default defineImage({
  name: 'web',
  description: 'a Debian web server, tested in its container twin',
  version: '${fields.version}',
  base: { preset: 'debian-12' },
  instanceType: 't3.micro',
  regions: { build: 'us-east-1' },
  provision: [{ script: 'scripts/provision.sh', env: { GREETING: 'hello' } }],
  smoke: { checkTimeoutSeconds: 60, checks: [${fields.checks}] },
  tags: { owner: 'test', app: 'web', environment: 'test' },
});
`;

const servesPage = `{ name: 'serves the page', run: ['busybox httpd -p 127.0.0.1:8080 -h /srv/www', 'busybox wget -qO- http://127.0.0.1:8080/'], stdoutMatches: ['^served as hello$'] }`;

/** An image of the chain built on web: its own provisioning needs web's (busybox), and its checks see both. */
const siteImage = `import { defineImage } from 'gild';
export default defineImage({
  name: 'site',
  description: 'a Debian image of a chain, tested in its container twin',
  version: '1.0.0',
  base: { image: 'web' },
  instanceType: 't3.micro',
  regions: { build: 'us-east-1' },
  provision: [{ script: 'scripts/site.sh', env: { GREETING: 'hello' } }],
  smoke: { checkTimeoutSeconds: 60, checks: [${servesPage}, { name: 'serves the site page too', run: ['busybox httpd -p 127.0.0.1:8080 -h /srv/www', 'busybox wget -qO- http://127.0.0.1:8080/site.html'], stdoutMatches: ['^site on busybox$'] }] },
  tags: { owner: 'test', app: 'site', environment: 'test' },
});
`;
// Fails unless the base's provisioning is already in the twin it runs in: busybox comes from the base.
const siteScript = '#!/bin/sh\nset -eu\nbusybox true\necho "site on busybox" | sudo tee /srv/www/site.html >/dev/null\n';

async function project(files: Record<string, string>, settings?: string): Promise<TempProject> {
  const images = Object.fromEntries(Object.entries(files).filter(([file]) => !file.includes('/')));
  const created = await createTempProject({ images, ...(settings ? { settings } : {}) });
  await execa('mkdir', ['-p', path.join(created.dir, 'images', 'scripts')]);
  for (const [file, content] of Object.entries(files)) if (file.includes('/')) await created.writeImage(file, content);
  return created;
}

interface SmokeJson {
  result: string;
  checks: { name: string; outcome: string; reason?: string; status: string; exitCode: number; stdout: string; stderr: string }[];
  packageManifest?: { packages: number; comparedWith?: string };
}

interface RunReport {
  images: { image: string; result: string; summary: string[]; smoke?: { checks: { name: string; outcome: string }[] } }[];
}

/** What a run left in its folder: the report, and each named image's smoke report and build log. */
async function runOutput(dir: string, runId: string, images: readonly string[]) {
  const runDir = path.join(dir, '.gild', 'runs', runId);
  const report = JSON.parse(await readFile(path.join(runDir, 'report.json'), 'utf8')) as RunReport;
  const smoke: Record<string, SmokeJson> = {};
  const log: Record<string, string> = {};
  for (const image of images) {
    smoke[image] = JSON.parse(await readFile(path.join(runDir, `${image}.smoke.json`), 'utf8')) as SmokeJson;
    log[image] = await readFile(path.join(runDir, `${image}.log`), 'utf8');
  }
  return { report, smoke, log };
}

async function runIds(dir: string): Promise<string[]> {
  return (await readdir(path.join(dir, '.gild', 'runs')).catch(() => [] as string[])).sort();
}

/**
 * One project, two runs, every check outcome: the first run publishes web 1.0.0 (Debian 12, BusyBox from apt) and site
 * 1.0.0 built on it; the second builds web 1.1.0, which also installs tree and whose checks pass, fail, hang, print
 * 100 KB and need a VM. Each twin's provisioning runs apt for real; the tests below read what the runs left.
 */
describe('container twins on the emulator', () => {
  let web: TempProject;
  type Run = { exitCode: number; stdout: string; stderr: string; runId: string | undefined };
  let first: Run;
  let second: Run;
  let publishedAfterFirst: Record<string, string>;

  async function runAndName(args: string[]): Promise<Run> {
    const before = await runIds(web.dir);
    const result = await web.gild(args, env);
    const runId = (await runIds(web.dir)).find((id) => !before.includes(id));
    return { ...result, runId };
  }

  beforeAll(async () => {
    web = await project({
      'web.ts': debianImage({ version: '1.0.0', checks: servesPage }),
      'site.ts': siteImage,
      'scripts/provision.sh': provisionScript(''),
      'scripts/site.sh': siteScript,
    });
    first = await runAndName(['run']);
    publishedAfterFirst = await parametersUnder(moto.endpoint, 'us-east-1', '/golden/web');

    await web.writeImage(
      'web.ts',
      debianImage({
        version: '1.1.0',
        checks: [
          servesPage,
          `{ name: 'expects the wrong version', run: 'echo 1.2.3', stdoutMatches: ['^9\\\\.'] }`,
          `{ name: 'hangs', run: 'sleep 600', timeoutSeconds: 3 }`,
          `{ name: 'prints 100 KB', run: "head -c 102400 /dev/zero | tr '\\\\0' x" }`,
          `{ name: 'starts at boot', run: 'systemctl is-enabled busybox-httpd', needs: 'vm' }`,
        ].join(', '),
      }),
    );
    await web.writeImage('scripts/provision.sh', provisionScript('tree'));
    second = await runAndName(['run', 'web']);
  }, 1_200_000);
  afterAll(async () => {
    await web?.remove();
  });

  it('publishes a version whose provisioning ran in its twin and whose checks passed there, with its real package manifest', async () => {
    expect(first.stdout + first.stderr).not.toMatch(/internal error/);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const { smoke, log } = await runOutput(web.dir, first.runId!, ['web']);
    expect(log['web']).toMatch(/docker\.web: Setting up busybox/);
    expect(smoke['web']?.checks.find((check) => check.name === 'serves the page')).toMatchObject({ outcome: 'passed', exitCode: 0, stdout: 'served as hello\n' });
    expect(smoke['web']?.packageManifest?.packages).toBeGreaterThan(50);
    expect(Object.keys(publishedAfterFirst)).toContain('/golden/web/versions/1.0.0');
  });

  it('runs the provisioning in the twin and each check for real: pass, wrong expectation, hang, 100 KB of output, needs a VM', async () => {
    expect(second.stdout + second.stderr).not.toMatch(/internal error/);
    expect(second.exitCode, second.stdout + second.stderr).toBe(1);
    // Nothing of the failed version is published: web's parameters are what the first run left.
    const publishedAfterSecond = await parametersUnder(moto.endpoint, 'us-east-1', '/golden/web');
    expect(Object.keys(publishedAfterSecond)).not.toContain('/golden/web/versions/1.1.0');
    expect(publishedAfterSecond).toEqual(publishedAfterFirst);
    expect(second.stdout + second.stderr).toMatch(/web failed in smoke: smoke test failed/);

    const { report, smoke, log } = await runOutput(web.dir, second.runId!, ['web']);
    // The provisioning ran in the twin: its own output is in the build log, and the page it wrote is served.
    expect(log['web']).toMatch(/docker\.web: Setting up busybox/);
    expect(report.images.find((image) => image.image === 'web')?.result).toBe('failed');
    const verdicts = Object.fromEntries(smoke['web']!.checks.map((check) => [check.name, check]));
    expect(verdicts['serves the page']).toMatchObject({ outcome: 'passed', exitCode: 0, stdout: 'served as hello\n' });
    expect(verdicts['expects the wrong version']).toMatchObject({ outcome: 'failed', reason: 'stdout does not match /^9\\./', exitCode: 0 });
    expect(verdicts['hangs']?.outcome).toBe('timed-out');
    expect(verdicts['prints 100 KB']).toMatchObject({ outcome: 'passed', stdout: 'x'.repeat(24_000) });
    expect(verdicts['starts at boot']).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/^skipped: needs a VM/) });
    // gild's built-in new-machine checks come first and run in the twin too, against what its build recorded.
    const outcomes = report.images.find((image) => image.image === 'web')?.smoke?.checks.map((check) => `${check.name.startsWith('new machine: ') ? 'built-in ' : ''}${check.outcome}`);
    expect(outcomes).toEqual(['built-in passed', 'built-in passed', 'built-in passed', 'passed', 'failed', 'timed-out', 'passed', 'skipped']);
  });

  it('shows the real package diff when the second version installs another package', async () => {
    const { report, smoke, log } = await runOutput(web.dir, second.runId!, ['web']);
    expect(log['web']).toMatch(/docker\.web: Setting up tree/);
    expect(smoke['web']?.packageManifest?.comparedWith).toBe('1.0.0');
    const summary = report.images.find((image) => image.image === 'web')?.summary ?? [];
    expect(summary).toContain('packages since 1.0.0: 1 added, 0 removed, 0 changed');
    expect(summary.some((line) => /^ {2}\+ tree \S+$/.test(line))).toBe(true);
  });

  describe('a twin of an image built on another gild image', () => {
    it("starts from the base's twin: the base's provisioning and then its own run, and its checks see both", async () => {
      expect(first.exitCode, first.stdout + first.stderr).toBe(0);
      expect(first.stderr).toMatch(/twins: site gets a container twin from the twin of its base "web"/);
      const { smoke, log } = await runOutput(web.dir, first.runId!, ['site']);
      expect(log['site']).toMatch(/twin: the provisioners run in a container twin from the twin of its base "web" \(localhost\/gild-twin\/web:1\.0\.0-/);
      const verdicts = Object.fromEntries(smoke['site']!.checks.map((check) => [check.name, check]));
      expect(verdicts['serves the page']).toMatchObject({ outcome: 'passed', stdout: 'served as hello\n' });
      expect(verdicts['serves the site page too']).toMatchObject({ outcome: 'passed', stdout: 'site on busybox\n' });
      expect(Object.keys(await parametersUnder(moto.endpoint, 'us-east-1', '/golden/site'))).toContain('/golden/site/versions/1.0.0');
    });

    it("gild test, with no AWS at all, builds the chain's twins in order: the base's, then the image's from it", async () => {
      const tested = await web.gild(['test', 'site'], noAws());
      expect(tested.exitCode, tested.stdout + tested.stderr).toBe(0);
      // web is at 1.1.0 since the second run: gild test builds the definitions as they are now.
      expect(tested.stdout).toMatch(/^✔ provisioning of the base web ran in its twin: localhost\/gild-twin\/web:1\.1\.0-test-/m);
      expect(tested.stdout).toMatch(/^✔ serves the site page too: passed$/m);
      // The base's twin was only the way there: removed with the image's own.
      expect((await execa('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout).not.toMatch(/gild-twin\/(web|site):1\.[01]\.0-test-/);
    }, 600_000);
  });
});

/**
 * Appended to the provisioning: one of each thing a real build leaves that gild-generalize.sh clears, since a bare
 * Debian container has none of them (no /etc/ssh, no machine-id, no history). The host key is only the private half:
 * the build's identity record names host keys by their .pub, and a twin never boots to make new ones, so a recorded
 * key would (rightly) fail the built-in check that the instance has host keys again. The unit file stands for what
 * makes host keys at boot (cloud-init on the Debian AMI), without which the script refuses to remove them.
 */
const leavesWhatABuildLeaves = `sudo mkdir -p /etc/ssh /usr/lib/systemd/system /var/lib/dbus /home/admin
echo fake-host-key | sudo tee /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key-cert.pub >/dev/null
echo '# stands for the boot-time host key generator' | sudo tee /usr/lib/systemd/system/sshd-keygen@.service >/dev/null
echo 0123456789abcdef0123456789abcdef | sudo tee /etc/machine-id /var/lib/dbus/machine-id >/dev/null
for home in /root /home/admin; do for file in .bash_history .python_history .lesshst .viminfo; do echo 'cat /etc/shadow' | sudo tee "$home/$file" >/dev/null; done; done
echo build | sudo tee /tmp/build-scratch /var/tmp/build-scratch /var/log/build.log /var/log/build.log.1 >/dev/null
`;

/** What the committed twin holds of each item, read in a fresh container of it: each line a finding, so '' is clean. */
async function readBackGeneralized(reference: string): Promise<Record<string, string>> {
  const probes: Record<string, string> = {
    'ssh host keys': 'ls -d /etc/ssh/ssh_host_* 2>/dev/null',
    'machine-id bytes': 'wc -c < /etc/machine-id',
    'dbus machine-id': 'ls -d /var/lib/dbus/machine-id 2>/dev/null',
    'shell history': 'ls -d /root/.*history* /root/.lesshst /root/.viminfo /home/*/.*history* /home/*/.lesshst /home/*/.viminfo 2>/dev/null',
    // NOTE: Packer's docker builder logs in with no key, so this shows nothing was authorized in the twin; the removal of
    // Packer's key on EC2 is ssh_clear_authorized_keys, proven by the rendered template only.
    authorized_keys: 'ls -d /root/.ssh/authorized_keys* /home/*/.ssh/authorized_keys* 2>/dev/null',
    'non-empty logs': 'find /var/log -type f -size +0c',
    'rotated logs': "find /var/log -type f \\( -name '*.1' -o -name '*.gz' -o -name '*.old' \\)",
    'temp files': 'find /tmp /var/tmp -mindepth 1',
    'package caches': 'find /var/cache/apt -maxdepth 2 -type f \\( -name "*.deb" -o -name "*.bin" \\)',
  };
  const script = Object.entries(probes)
    .map(([name, probe]) => `printf '%s\\0' '${name}'; { ${probe}; } | tr '\\n' ' ' | sed 's/ $//'; printf '\\0'`)
    .join('; ');
  const { stdout } = await execa('podman', ['run', '--rm', '--entrypoint', 'sh', reference, '-c', script]);
  const fields = stdout.split('\0');
  const found: Record<string, string> = {};
  for (let index = 0; index + 1 < fields.length; index += 2) found[fields[index]!] = fields[index + 1]!.trim();
  return found;
}

describe('gild test', () => {
  // The runs above published web in this moto; here another machine's web 1.0.0 is made directly.
  beforeAll(async () => {
    await moto.reset();
  });

  it("fails a broken provisioning with the script's own error output", async () => {
    // No apt here: what fails is the script's last line, and its own error is what gild test must show.
    const web = await project({
      'web.ts': debianImage({ version: '1.0.0', checks: servesPage }),
      'scripts/provision.sh': '#!/bin/sh\nset -eu\nsudo mkdir -p /srv/www\nsudo cp /srv/missing/index.html /srv/www/\n',
    });
    try {
      const broken = await web.gild(['test', 'web'], noAws());
      expect(broken.exitCode).toBe(1);
      expect(broken.stdout).toMatch(/^✖ provisioning failed in the twin of web: Script exited with non-zero exit status: 1/m);
      expect(broken.stdout).toContain("cp: cannot stat '/srv/missing/index.html': No such file or directory");
      const testDir = path.join(web.dir, '.gild', 'test');
      const [latest] = (await readdir(testDir)).sort().reverse();
      const saved = JSON.parse(await readFile(path.join(testDir, latest!, 'web.test.json'), 'utf8')) as { result: string; build: { ok: boolean; output: string[] } };
      expect(saved).toMatchObject({ result: 'failed', build: { ok: false } });
      expect(saved.build.output).toContain("cp: cannot stat '/srv/missing/index.html': No such file or directory");
    } finally {
      await web.remove();
    }
  }, 300_000);

  it("passes the good provisioning, diffs the twin against the published version's SBOM in the evidence bucket, and --keep leaves a container of the twin for a shell", async () => {
    const web = await project(
      {
        'web.ts': debianImage({ version: '1.1.0', checks: `${servesPage}, { name: 'boot', run: 'systemctl is-enabled x', needs: 'vm' }` }),
        'scripts/provision.sh': `${provisionScript('')}${leavesWhatABuildLeaves}`,
      },
      "import { defineSettings } from 'gild';\nexport default defineSettings({ evidence: { bucket: 'evidence' } });\n",
    );
    // What another machine's run left: web 1.0.0 published (latest names it), its SBOM in the bucket. Made directly,
    // so that the diff is known: 1.0.0 had tree and no busybox.
    const s3 = createS3Client('us-east-1', moto.env);
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    let kept: { container: string; reference: string } | undefined;
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'evidence' }));
      for (const name of ['/golden/web/versions/1.0.0', '/golden/web/latest']) await ssm.send(new PutParameterCommand({ Name: name, Value: 'ami-12345678', Type: 'String' }));
      const sbom = cycloneDxSbom(
        { image: 'web', version: '1.0.0', runId: 'earlier', amiId: 'ami-12345678', preset: 'debian-12', packageManifestCommand: "dpkg-query -W -f='${Package} ${Version}\\n'", createdAt: new Date() },
        'tree 2.1.0-1\n',
      );
      await s3.send(new PutObjectCommand({ Bucket: 'evidence', Key: 'gild/evidence/web/1.0.0/sbom.cdx.json', Body: JSON.stringify(sbom) }));

      const tested = await web.gild(['test', 'web', '--keep'], { ...moto.env, PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' });
      expect(tested.exitCode, tested.stdout + tested.stderr).toBe(0);
      expect(tested.stdout).toMatch(/^✔ serves the page: passed$/m);
      expect(tested.stdout).toMatch(/^– boot: skipped \(skipped: needs a VM/m);
      expect(tested.stdout).toContain('(compared with 1.0.0, published: s3://evidence/gild/evidence/web/1.0.0/sbom.cdx.json)');
      expect(tested.stdout).toMatch(/^ {4} {2}- tree 2\.1\.0-1$/m);
      expect(tested.stdout).toMatch(/^ {4} {2}\+ busybox \S+$/m);

      // --keep: the twin and a running container of it, named in the output, with what the provisioning wrote.
      const match = /^kept: podman exec -it (\S+) sh {3}\(remove with: podman rm -f \S+ && podman rmi (\S+)\)$/m.exec(tested.stdout);
      expect(match, tested.stdout).not.toBeNull();
      kept = { container: match![1]!, reference: match![2]! };
      expect((await execa('podman', ['inspect', '-f', '{{.State.Running}}', kept.container])).stdout).toBe('true');
      expect((await execa('podman', ['exec', kept.container, 'cat', '/srv/www/index.html'])).stdout).toBe('served as hello');

      // The committed twin, read back file by file: each thing gild-generalize.sh promises to clear is gone from the
      // image the checks ran in, although the provisioning above left one of each.
      expect(await readBackGeneralized(kept.reference)).toEqual({
        'ssh host keys': '',
        'machine-id bytes': '0',
        'dbus machine-id': '',
        'shell history': '',
        authorized_keys: '',
        'non-empty logs': '',
        'rotated logs': '',
        'temp files': '',
        'package caches': '',
      });
    } finally {
      if (kept) await execa('podman', ['rm', '-f', kept.container], { reject: false }).then(() => execa('podman', ['rmi', kept!.reference], { reject: false }));
      s3.destroy();
      ssm.destroy();
      await web.remove();
    }
  }, 300_000);
});
