import { defineImage } from 'gild';

/** nginx on the hardened base: rebuilt whenever al2023-base publishes a new 1.x. */
export default defineImage({
  name: 'nginx',
  description: 'nginx web server on the hardened Amazon Linux 2023 base',
  version: '2.1.0',
  base: { image: 'al2023-base', range: '^1' },
  instanceType: 't3.small',
  regions: { build: 'us-east-1', copies: ['us-west-2', 'eu-west-1'] },
  provision: [
    { shell: 'sudo dnf -y install nginx' },
    { upload: { source: 'files/nginx.conf', destination: '/tmp/nginx.conf' } },
    { shell: ['sudo install -m 0644 /tmp/nginx.conf /etc/nginx/nginx.conf', 'sudo nginx -t', 'sudo systemctl enable nginx'] },
  ],
  smoke: {
    instanceTypes: ['t3.micro', 'm7i.large'],
    checks: [
      { name: 'nginx config is valid', run: 'sudo nginx -t' },
      { name: 'nginx serves the health page', run: ['sudo systemctl start nginx', 'test "$(curl -fsS http://127.0.0.1/healthz)" = ok'], needs: 'vm' },
    ],
  },
  retention: { keep: 3 },
  tags: { owner: 'web-team', app: 'nginx', environment: 'production' },
});
