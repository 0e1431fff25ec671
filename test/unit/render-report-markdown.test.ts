import { describe, expect, it } from 'vitest';
import { renderReportMarkdown } from '../../src/report/render-report-markdown.ts';
import { runReportSchema, type ImageReport, type RunReport } from '../../src/report/report-schema.ts';

const none = { amis: {}, steps: [], parametersWritten: [], retired: [], kept: [], summary: [] } satisfies Partial<ImageReport>;

const report: RunReport = {
  schema: 1,
  runId: '20261129T031500Z-abc123',
  command: 'gild run',
  startedAt: '2026-11-29T03:15:00.000Z',
  finishedAt: '2026-11-29T03:21:42.000Z',
  ssmPrefix: '/golden',
  result: 'failed',
  counts: { published: 1, unchanged: 1, failed: 1, skipped: 1 },
  images: [
    {
      ...none,
      image: 'steady',
      action: 'unchanged',
      reason: 'nothing changed since 1.4.2',
      result: 'unchanged',
      resultReason: 'nothing changed since 1.4.2',
      previousVersion: '1.4.2',
      version: '1.4.2',
      durationMs: 0,
    },
    {
      ...none,
      image: 'web',
      action: 'build',
      reason: 'the base AMI changed',
      result: 'published',
      stageReached: 'retire',
      previousVersion: '2.0.3',
      version: '2.0.4',
      amis: { 'us-east-1': 'ami-0aaa1111bbbb2222c', 'eu-west-1': 'ami-0ddd3333eeee4444f' },
      durationMs: 372_400,
      steps: [
        { id: 'build:web', kind: 'build', reason: 'the base AMI changed', status: 'done', durationMs: 341_000 },
        { id: 'smoke:web', kind: 'smoke', reason: 'test before publishing', status: 'done', durationMs: 30_900 },
        { id: 'publish:web', kind: 'publish', reason: 'publish 2.0.4', status: 'done', durationMs: 500 },
      ],
      smoke: {
        result: 'passed',
        region: 'us-east-1',
        amiId: 'ami-0aaa1111bbbb2222c',
        checks: [
          { name: 'nginx | answers', instanceType: 't3.micro', instanceId: 'i-0123', outcome: 'passed', status: 'Success', exitCode: 0, stdoutExcerpt: 'ok', stderrExcerpt: '', durationMs: 1200 },
        ],
        file: '.gild/runs/20261129T031500Z-abc123/web.smoke.json',
      },
      parametersWritten: [
        { region: 'us-east-1', name: '/golden/web/versions/2.0.4', value: 'ami-0aaa1111bbbb2222c' },
        { region: 'us-east-1', name: '/golden/web/latest', value: 'ami-0aaa1111bbbb2222c', previous: 'ami-0999' },
      ],
      retired: [{ region: 'us-east-1', amiId: 'ami-0888', version: '2.0.0', phase: 'deregister', reason: 'older than the 3 newest versions' }],
      kept: [{ region: 'us-east-1', amiId: 'ami-0777', version: '2.0.1', reason: 'launch template lt-01 uses it' }],
      summary: ['packages since 2.0.3: 0 added, 0 removed, 1 changed', '  ~ openssl 3.0.8 → 3.0.9'],
    },
    {
      ...none,
      image: 'base',
      action: 'build',
      reason: 'the definition changed',
      result: 'failed',
      stageReached: 'build',
      version: '1.1.0',
      previousVersion: '1.0.0',
      amis: { 'us-east-1': 'ami-0bad' },
      durationMs: 61_000,
      failure: {
        stage: 'smoke',
        message: 'smoke test failed: "kernel is patched" exited 3',
        details: ['caused by StepFailure: check failed on t3.micro'],
        causes: [{ name: 'StepFailure', message: 'smoke test failed' }],
        logFile: '.gild/runs/20261129T031500Z-abc123/base.log',
        logTail: ['--- stderr', 'kernel 5.10 is vulnerable', '```'],
        reproduce: 'npx gild run base --local --force',
      },
    },
    { ...none, image: 'app', action: 'build', reason: 'its base image changed', result: 'skipped', resultReason: 'its base image "base" was not published', version: '3.1.0', durationMs: 0 },
  ],
  runSteps: [],
};

describe('renderReportMarkdown', () => {
  it('marks a kept-by-choice or not-verified new-machine check as what it is, neither passed nor failed', () => {
    const web = report.images[1]!;
    const check = (outcome: 'kept-by-choice' | 'not-verified', reason: string) => ({
      name: "new machine: SSH host keys differ from the build instance's",
      instanceType: 't3.micro',
      instanceId: 'i-0123',
      outcome,
      reason,
      status: 'Success',
      exitCode: 0,
      stdoutExcerpt: '',
      stderrExcerpt: '',
      durationMs: 900,
    });
    const withKept: RunReport = {
      ...report,
      images: [{ ...web, smoke: { ...web.smoke!, checks: [check('kept-by-choice', 'the definition keeps ssh-host-keys: clients pin the host key'), check('not-verified', 'no record')] } }],
    };
    expect(runReportSchema.parse(withKept)).toEqual(withKept);
    const lines = renderReportMarkdown(withKept).split('\n');
    expect(lines).toContain(
      "- – kept-by-choice: new machine: SSH host keys differ from the build instance's on t3.micro: exit 0, Success (the definition keeps ssh-host-keys: clients pin the host key)",
    );
    expect(lines).toContain("- – not-verified: new machine: SSH host keys differ from the build instance's on t3.micro: exit 0, Success (no record)");
  });

  it('puts the failure first with its log tail and the command that reproduces it, then the skipped, published and unchanged images', () => {
    expect(runReportSchema.parse(report)).toEqual(report);
    expect(renderReportMarkdown(report)).toMatchInlineSnapshot(`
      "## gild run \`20261129T031500Z-abc123\`: failed

      \`gild run\` · 1 failed, 1 skipped, 1 published, 1 unchanged · 6 min 42 s · prefix \`/golden\`

      | image | result | version | stage reached | duration |
      | --- | --- | --- | --- | --- |
      | base | ✖ failed | 1.0.0 → 1.1.0 | build | 1 min 1 s |
      | app | - skipped | 3.1.0 | — | — |
      | web | ✔ published | 2.0.3 → 2.0.4 | retire | 6 min 12 s |
      | steady | = unchanged | 1.4.2 | — | — |

      ### ✖ failed: base 1.1.0

      Plan: build, the definition changed

      **Failed in smoke:** smoke test failed: "kernel is patched" exited 3
      - caused by StepFailure: check failed on t3.micro

      Last lines of \`.gild/runs/20261129T031500Z-abc123/base.log\`:

      \`\`\`\`text
      --- stderr
      kernel 5.10 is vulnerable
      \`\`\`
      \`\`\`\`

      Reproduce locally (against a moto emulator gild starts): \`npx gild run base --local --force\`

      Candidate AMIs (not published): us-east-1 \`ami-0bad\`

      ### - skipped: app 3.1.0

      Plan: build, its base image changed
      Result: its base image "base" was not published

      ### ✔ published: web 2.0.4

      Plan: build, the base AMI changed

      AMIs: us-east-1 \`ami-0aaa1111bbbb2222c\`, eu-west-1 \`ami-0ddd3333eeee4444f\`

      Smoke test in us-east-1 (\`ami-0aaa1111bbbb2222c\`): passed
      - ✔ nginx \\| answers on t3.micro: exit 0, Success

      \`\`\`text
      packages since 2.0.3: 0 added, 0 removed, 1 changed
        ~ openssl 3.0.8 → 3.0.9
      \`\`\`

      Parameters written:
      - us-east-1 \`/golden/web/versions/2.0.4\` = \`ami-0aaa1111bbbb2222c\`
      - us-east-1 \`/golden/web/latest\` = \`ami-0aaa1111bbbb2222c\` (was \`ami-0999\`)

      Retired:
      - 2.0.0 us-east-1 \`ami-0888\`: deregister, older than the 3 newest versions

      Kept:
      - 2.0.1 us-east-1 \`ami-0777\`: launch template lt-01 uses it

      Steps: build 5 min 41 s, smoke 30.9 s, publish 500 ms

      ### = unchanged: steady 1.4.2

      Plan: unchanged, nothing changed since 1.4.2
      "
    `);
  });

  it('names the lifecycle command and says which pointer moved from what to what, the hold and the revocation', () => {
    const revoke: RunReport = {
      schema: 1,
      runId: '20261129T091500Z-def456',
      command: "gild revoke api 1.0.1 --reason 'CVE-2026-0001 in openssl'",
      commandName: 'revoke',
      startedAt: '2026-11-29T09:15:00.000Z',
      finishedAt: '2026-11-29T09:15:02.500Z',
      ssmPrefix: '/golden',
      result: 'succeeded',
      counts: { changed: 1 },
      images: [
        {
          ...none,
          image: 'api',
          action: 'change',
          reason: 'revoke 1.0.1: CVE-2026-0001 in openssl',
          result: 'changed',
          resultReason: 'revoke 1.0.1: CVE-2026-0001 in openssl',
          stageReached: 'revoke',
          previousVersion: '1.0.1',
          version: '1.0.1',
          durationMs: 2100,
          pointersMoved: [
            { pointer: 'latest', region: 'us-east-1', name: '/golden/api/latest', from: 'ami-0new', fromVersion: '1.0.1', to: 'ami-0old', toVersion: '1.0.0' },
            { pointer: 'channels/stable', region: 'us-east-1', name: '/golden/api/channels/stable', to: 'ami-0old', toVersion: '1.0.0' },
          ],
          parametersWritten: [
            { region: 'us-east-1', name: '/golden/api/latest', value: 'ami-0old', previous: 'ami-0new' },
            { region: 'us-east-1', name: '/golden/api/channels/stable', value: 'ami-0old' },
          ],
          holds: [{ pointer: 'latest', region: 'us-east-1', parameterName: '/golden/api/holds/latest', change: 'removed', version: '1.0.0', reason: 'kernel panic on boot', by: 'ops@ci' }],
          revoked: [{ region: 'us-east-1', amiId: 'ami-0new', version: '1.0.1', reason: 'CVE-2026-0001 in openssl', disable: true }],
        },
      ],
      runSteps: [],
    };
    expect(runReportSchema.parse(revoke)).toEqual(revoke);
    expect(renderReportMarkdown(revoke)).toMatchInlineSnapshot(`
      "## gild revoke \`20261129T091500Z-def456\`: succeeded

      \`gild revoke api 1.0.1 --reason 'CVE-2026-0001 in openssl'\` · 1 changed · 2.5 s · prefix \`/golden\`

      | image | result | version | stage reached | duration |
      | --- | --- | --- | --- | --- |
      | api | ✔ changed | 1.0.1 | revoke | 2.1 s |

      ### ✔ changed: api 1.0.1

      Plan: change, revoke 1.0.1: CVE-2026-0001 in openssl

      Pointers moved:
      - us-east-1 \`latest\`: 1.0.1 → 1.0.0 (\`ami-0new\` → \`ami-0old\`)
      - us-east-1 \`channels/stable\`: nothing → 1.0.0 (new → \`ami-0old\`)

      Hold removed from \`latest\` (at 1.0.0, kernel panic on boot, by ops\\@ci): \`/golden/api/holds/latest\`

      Revoked:
      - 1.0.1 us-east-1 \`ami-0new\`: CVE-2026-0001 in openssl (with --disable)
      "
    `);
  });
});
