import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprintImages } from '../../src/observe/local-inputs.ts';
import { resolvedImageFixture } from '../support/resolved-image-fixture.ts';

describe('fingerprintImages', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'gild-fingerprint-'));
    await mkdir(path.join(root, 'templates/partials'), { recursive: true });
    await mkdir(path.join(root, 'scripts'), { recursive: true });
    await writeFile(path.join(root, 'templates/image.pkr.hcl.hbs'), 'source {}');
    await writeFile(path.join(root, 'templates/partials/tags.hbs'), 'tags {}');
    await writeFile(path.join(root, 'scripts/web.sh'), 'echo web');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const images = () => [
    resolvedImageFixture({ name: 'web', provision: [{ kind: 'script', path: path.join(root, 'scripts/web.sh'), env: {}, expectDisconnect: false, pauseBefore: undefined }] }),
    resolvedImageFixture({ name: 'api' }),
  ];

  // The templates are read once for all images; each image must still see every template and only its own files.
  it('changes every image when a template changes, and only the image whose script changed', async () => {
    const before = await fingerprintImages(root, images());
    await writeFile(path.join(root, 'scripts/web.sh'), 'echo web changed');
    const scriptChanged = await fingerprintImages(root, images());
    expect(scriptChanged['web']).not.toBe(before['web']);
    expect(scriptChanged['api']).toBe(before['api']);

    await writeFile(path.join(root, 'templates/partials/tags.hbs'), 'tags { changed }');
    const templateChanged = await fingerprintImages(root, images());
    expect(templateChanged['web']).not.toBe(scriptChanged['web']);
    expect(templateChanged['api']).not.toBe(scriptChanged['api']);
  });

  it('gives the same fingerprint for one image alone and in a fleet', async () => {
    const [web] = images();
    expect((await fingerprintImages(root, [web!]))['web']).toBe((await fingerprintImages(root, images()))['web']);
  });
});
