#!/bin/sh
# Installs a small web server (BusyBox httpd, from Debian's busybox package) serving /srv/www, enabled at boot.
# Written for the EC2 instance (login user admin, sudo); runs unchanged in the container twin.
set -eu
sudo apt-get update -qq
sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox
sudo mkdir -p /srv/www
echo "gild debian-base ${WEB_GREETING:-hello}" | sudo tee /srv/www/index.html >/dev/null
sudo tee /etc/systemd/system/gild-web.service >/dev/null <<'UNIT'
[Unit]
Description=gild example web server (BusyBox httpd)
After=network.target

[Service]
ExecStart=/bin/busybox httpd -f -p 80 -h /srv/www
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
# What `systemctl enable` does, by hand: the build may run where systemd is not PID 1 (a container twin).
sudo mkdir -p /etc/systemd/system/multi-user.target.wants
sudo ln -sf /etc/systemd/system/gild-web.service /etc/systemd/system/multi-user.target.wants/gild-web.service
