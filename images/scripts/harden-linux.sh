#!/usr/bin/env bash
# CIS-style hardening for the Amazon Linux 2023 base image.
set -euo pipefail
echo "hardening profile: ${HARDENING_PROFILE:-default}"
sudo tee /etc/sysctl.d/90-gild-hardening.conf >/dev/null <<'CONF'
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.all.log_martians = 1
kernel.randomize_va_space = 2
fs.suid_dumpable = 0
CONF
sudo sed -i 's/^#\?PasswordAuthentication .*/PasswordAuthentication no/' /etc/ssh/sshd_config
sudo sed -i 's/^#\?PermitRootLogin .*/PermitRootLogin no/' /etc/ssh/sshd_config
sudo systemctl enable amazon-ssm-agent auditd
