import { defineImage } from 'gild';

/** A Graviton (arm64) batch worker: cheaper per job, built natively on arm64. */
export default defineImage({
  name: 'graviton-worker',
  description: 'arm64 batch worker on Amazon Linux 2023 with the container runtime',
  version: '1.0.0',
  architecture: 'arm64',
  base: { preset: 'amazon-linux-2023' },
  instanceType: 't4g.small',
  regions: { build: 'us-east-1', copies: ['eu-west-1'] },
  provision: [{ shell: ['sudo dnf -y install docker', 'sudo systemctl enable docker'] }],
  blockDevices: { ami: [{ deviceName: '/dev/xvda', sizeGiB: 30, type: 'gp3', iops: 4000, throughput: 250 }] },
  smoke: {
    instanceTypes: ['t4g.micro'],
    checks: [
      { name: 'runs on arm64', run: 'test "$(uname -m)" = aarch64' },
      { name: 'docker is enabled', run: 'systemctl is-enabled docker', needs: 'vm' },
    ],
  },
  tags: { owner: 'data-team', app: 'batch-worker', environment: 'production' },
});
