import { defineImage } from 'gild';

/** Windows Server 2022 base for .NET services: WinRM for the build, PowerShell only. */
export default defineImage({
  name: 'windows-2022',
  // The updates come from gild's patch step (patch: true, the preset's default): Windows Update before provisioning.
  description: 'Windows Server 2022 base with IIS, updated through Windows Update at build time',
  version: '1.0.0',
  platform: 'windows',
  base: { preset: 'windows-server-2022' },
  instanceType: 'm6i.large',
  regions: { build: 'us-east-1' },
  provision: [
    { powershell: ['Install-WindowsFeature -Name Web-Server -IncludeManagementTools', 'Set-Service -Name W3SVC -StartupType Automatic'] },
    { restart: { timeout: '15m' } },
    { powershell: 'Get-WindowsFeature Web-Server | Format-List' },
  ],
  blockDevices: { launch: [{ deviceName: '/dev/sda1', sizeGiB: 50, type: 'gp3' }] },
  smoke: {
    instanceTypes: ['m6i.large'],
    checks: [
      { name: 'IIS is running', run: "if ((Get-Service W3SVC).Status -ne 'Running') { exit 1 }" },
      { name: 'serves the default page', run: 'if ((Invoke-WebRequest -UseBasicParsing http://localhost/).StatusCode -ne 200) { exit 1 }' },
    ],
  },
  tags: { owner: 'windows-team', app: 'iis-base', environment: 'production' },
});
