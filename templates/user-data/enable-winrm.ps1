<powershell>
# Lets Packer connect over WinRM with HTTPS on 5986, using a self-signed
# certificate made at first boot. The build instance is thrown away after.
$ErrorActionPreference = "Stop"
Set-ExecutionPolicy Unrestricted -Scope LocalMachine -Force
$certificate = New-SelfSignedCertificate -CertStoreLocation Cert:\LocalMachine\My -DnsName "packer"
Enable-PSRemoting -SkipNetworkProfileCheck -Force
Get-ChildItem WSMan:\localhost\Listener | Where-Object { $_.Keys -contains "Transport=HTTP" } | Remove-Item -Recurse -Force
New-Item -Path WSMan:\localhost\Listener -Transport HTTPS -Address * -CertificateThumbPrint $certificate.Thumbprint -Force
Set-Item WSMan:\localhost\Service\Auth\Basic -Value $true
New-NetFirewallRule -DisplayName "WinRM HTTPS" -Direction Inbound -Protocol TCP -LocalPort 5986 -Action Allow
Restart-Service WinRM
</powershell>
