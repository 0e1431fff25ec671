import { defineImage } from 'gild';

/**
 * A Debian 12 web server, and the image whose provisioning and checks run for real before AWS: on the emulator and in
 * `gild test debian-base`, its provisioning runs in a container twin (Debian 12) and its checks run in fresh
 * containers of that twin (docs/emulator.md "Container twins").
 */
export default defineImage({
  name: 'debian-base',
  description: 'Debian 12 with a small web server (BusyBox httpd) serving /srv/www',
  version: '1.0.0',
  base: { preset: 'debian-12' },
  instanceType: 't3.micro',
  regions: { build: 'us-east-1' },
  provision: [{ script: 'scripts/install-web.sh', env: { WEB_GREETING: 'hello' } }],
  smoke: {
    checks: [
      { name: 'runs Debian 12', run: '. /etc/os-release && test "$ID" = debian && test "$VERSION_ID" = 12' },
      {
        name: 'the web server answers on localhost',
        run: ['busybox httpd -p 127.0.0.1:8080 -h /srv/www', 'busybox wget -qO- http://127.0.0.1:8080/'],
        stdoutMatches: ['^gild debian-base hello$'],
      },
      { name: 'the web server starts at boot', run: 'systemctl is-enabled gild-web', needs: 'vm' },
    ],
  },
  tags: { owner: 'platform-team', app: 'web', environment: 'example' },
});
