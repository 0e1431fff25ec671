/**
 * Hostile definitions, settings and command lines (issue 10), each with the
 * exit code gild must give and the words its message must contain. Run by
 * hostile-cli.test.ts through the real CLI in a temporary project.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface HostileCase {
  readonly name: string;
  /** The issue 10 item it covers. */
  readonly item: number;
  /** Extra fields for the one image, `web`, as TypeScript source inside defineImage({ … }). */
  readonly fields?: string;
  /** A whole images/web.ts instead. */
  readonly source?: string;
  readonly settings?: string;
  readonly setup?: (projectDir: string) => Promise<void>;
  readonly args: readonly string[];
  readonly exitCode: number;
  readonly words: readonly string[];
  /** Checked after the run, e.g. that nothing was deleted. */
  readonly after?: (projectDir: string) => Promise<void>;
}

export const webImage = (fields = '', name = 'web') => `import { defineImage } from 'gild';
export default defineImage({
  name: '${name}',
  description: 'hostile case',
  version: '1.0.0',
  base: { preset: 'amazon-linux-2023' },
  instanceType: 't3.micro',
  regions: { build: 'us-east-1' },
  ${fields}
});
`;

const rawImage = (body: string) => `import { defineImage } from 'gild';\n${body}\n`;

export const hostileCases: readonly HostileCase[] = [
  {
    name: 'render --out into a folder of the user’s files',
    item: 1,
    setup: async (dir) => {
      await mkdir(path.join(dir, 'notes'));
      await writeFile(path.join(dir, 'notes', 'keep'), 'mine');
    },
    args: ['render', 'web', '--out', 'notes'],
    exitCode: 2,
    words: ['notes is not empty and was not made by gild', 'Give a new or empty folder'],
  },
  { name: 'render --out the project itself', item: 1, args: ['render', 'web', '--out', '.'], exitCode: 2, words: ['--out .', 'is the project folder or contains it'] },
  { name: 'render --out a parent of the project', item: 1, args: ['render', 'web', '--out', '..'], exitCode: 2, words: ['--out ..', 'is the project folder or contains it'] },
  { name: 'a tag value Packer would evaluate', item: 2, fields: `tags: { note: '{{ .SourceAMI }}|{{ timestamp }}' },`, args: ['validate'], exitCode: 2, words: ['source.tags.note', 'contains "{{"'] },
  {
    name: 'an upload destination Packer would evaluate',
    item: 2,
    fields: `provision: [{ upload: { source: 'web.ts', destination: '/tmp/{{ env \`HOME\` }}' } }],`,
    args: ['validate'],
    exitCode: 2,
    words: ['destination', 'contains "{{"'],
  },
  { name: 'a lone surrogate in a tag', item: 11, fields: `tags: { note: 'bad \\ud800' },`, args: ['validate'], exitCode: 2, words: ['images/web.ts', 'tags.note', 'lone UTF-16 surrogate'] },
  {
    name: 'a packerSource run_tag that takes over gild:role',
    item: 3,
    fields: `packerSource: { run_tag: [{ key: 'gild:role', value: 'other' }] },`,
    args: ['validate'],
    exitCode: 2,
    words: ['packerSource.run_tag[0]', '"gild:role" is set by gild itself'],
  },
  {
    name: 'a packerSource snapshot_tag with an aws: key',
    item: 3,
    fields: `packerSource: { snapshot_tag: { key: 'aws:cloudformation:x', value: 'y' } },`,
    args: ['validate'],
    exitCode: 2,
    words: ['packerSource.snapshot_tag', 'starts with "aws:"'],
  },
  {
    name: 'a script that climbs out of the project',
    item: 4,
    fields: `provision: [{ script: '../../../../../../../../etc/passwd' }],`,
    args: ['validate'],
    exitCode: 2,
    words: ['provision[0].script', "is outside the image's folder"],
  },
  {
    name: 'an absolute upload source',
    item: 4,
    fields: `provision: [{ upload: { source: '/etc/shadow', destination: '/tmp/x' } }],`,
    args: ['validate'],
    exitCode: 2,
    words: ['provision[0].upload.source', 'not an absolute path'],
  },
  {
    name: 'a script that is a symbolic link leading outside',
    item: 4,
    setup: (dir) => symlink('/etc/hostname', path.join(dir, 'images', 'innocent.sh')),
    fields: `provision: [{ script: 'innocent.sh' }],`,
    args: ['validate'],
    exitCode: 2,
    words: ['provision[0].script', 'through a symbolic link'],
  },
  { name: 'a folder given as template', item: 7, fields: `template: 'partials',`, args: ['validate'], exitCode: 2, words: ['template:', 'is a folder'] },
  { name: 'deprecateAfterDays: 1e12', item: 7, fields: `deprecateAfterDays: 1e12,`, args: ['validate'], exitCode: 2, words: ['deprecateAfterDays', 'at most 3650'] },
  {
    name: 'a circular packerSource value',
    item: 7,
    source: rawImage(
      `const loop: any = { a: 1 }; loop.self = loop;\nexport default defineImage({ name: 'web', description: 'x', version: '1.0.0', base: { preset: 'amazon-linux-2023' }, instanceType: 't3.micro', regions: { build: 'us-east-1' }, packerSource: { tags_extra: loop } });`,
    ),
    args: ['validate'],
    exitCode: 2,
    words: ['packerSource.tags_extra.self', 'a cycle'],
  },
  {
    name: 'a getter that throws',
    item: 7,
    source: rawImage(
      `export default defineImage({ name: 'web', get description(): string { throw new Error('boom'); }, version: '1.0.0', base: { preset: 'amazon-linux-2023' }, instanceType: 't3.micro', regions: { build: 'us-east-1' } });`,
    ),
    args: ['validate'],
    exitCode: 2,
    words: ['images/web.ts: description', 'its getter threw "boom"'],
  },
  {
    name: 'a default export that is a Promise',
    item: 7,
    source: rawImage(
      `export default Promise.resolve(defineImage({ name: 'web', description: 'x', version: '1.0.0', base: { preset: 'amazon-linux-2023' }, instanceType: 't3.micro', regions: { build: 'us-east-1' } }));`,
    ),
    args: ['validate'],
    exitCode: 2,
    words: ['images/web.ts', 'is a Promise', 'cannot be async'],
  },
  { name: 'an import-time infinite loop', item: 7, source: rawImage(`for (;;) {}\nexport default {};`), args: ['validate'], exitCode: 2, words: ['images/web.ts', 'did not finish loading'] },
  {
    name: 'a top-level await that never settles',
    item: 7,
    source: rawImage(`await new Promise(() => {});\nexport default {};`),
    args: ['validate'],
    exitCode: 2,
    words: ['images/web.ts', 'did not finish loading'],
  },
  {
    name: 'a throw at import time',
    item: 7,
    source: rawImage(`throw new Error('no network here');`),
    args: ['validate'],
    exitCode: 2,
    words: ['images/web.ts', 'could not be loaded', 'no network here'],
  },
  { name: 'an image named constructor', item: 8, source: webImage('', 'constructor'), args: ['validate'], exitCode: 2, words: ['name', 'JavaScript reserves'] },
  {
    name: 'packerSource keys constructor and toString',
    item: 8,
    fields: `packerSource: { constructor: 1, toString: 'x' } as any,`,
    args: ['validate'],
    exitCode: 2,
    words: ['key "constructor" is not a Packer setting name', 'key "toString" is not a Packer setting name'],
  },
  { name: 'a __proto__ key', item: 8, fields: `packerSource: JSON.parse('{"__proto__": {"ena_support": true}}'),`, args: ['validate'], exitCode: 2, words: ['packerSource', '"__proto__" key'] },
  {
    name: 'a description over 255 characters',
    item: 9,
    source: webImage().replace("description: 'hostile case'", `description: '${'d'.repeat(256)}'`),
    args: ['validate'],
    exitCode: 2,
    words: ['description', '255 characters'],
  },
  { name: 'an ssmPrefix under /AWS', item: 9, settings: `export default { ssmPrefix: '/AWS/golden' };`, args: ['validate'], exitCode: 2, words: ['ssmPrefix', 'must not start with /aws or /ssm'] },
  {
    name: 'a version beyond Number.MAX_SAFE_INTEGER',
    item: 9,
    source: webImage().replace("version: '1.0.0'", "version: '9007199254740993.0.0'"),
    args: ['validate'],
    exitCode: 2,
    words: ['version', 'above 9007199254740991'],
  },
  { name: 'resolve --region with a shell injection', item: 10, args: ['resolve', 'web', '--region', 'us-east-1; x'], exitCode: 2, words: ['region "us-east-1; x"', 'is not an AWS region'] },
  { name: 'resolve --region with a typo', item: 10, args: ['resolve', 'web', '--region', 'us-est-1'], exitCode: 2, words: ['region "us-est-1"', 'Did you mean "us-east-1"?'] },
  {
    name: 'shape errors and rule errors of one file, in one pass',
    item: 13,
    fields: `instanceType: 'huge' as any, provision: [{ script: 'missing.sh' }], tags: { 'gild:image': 'other' },`,
    source: undefined,
    args: ['validate'],
    exitCode: 2,
    words: ['instanceType: "huge"', 'provision[0].script: "missing.sh" does not exist', 'tags: "gild:image" is set by gild itself'],
  },
];
