/**
 * The tag budget: every tag key gild writes to an AMI or snapshot is in src/stages/gild-tag-keys.ts, and an image
 * may carry only what is left of EC2's 50. Before the list, the schema allowed 38 user tags ("gild adds up to 12")
 * while gild wrote ~35 keys over an AMI's life: an image with 38 tags published, then its revoke failed forever with
 * TagLimitExceeded (test/integration/tag-budget.test.ts shows that end to end on moto).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxUserTags } from '../../src/definition/schema.ts';
import { ec2TagsPerResource, gildAmiTagKeys } from '../../src/stages/gild-tag-keys.ts';
import { validateOne } from '../fixtures/definitions/validate-one.ts';
import { repoRoot } from '../support/project.ts';

/** gild:* keys that name no AMI or snapshot tag, and why. */
const notAmiKeys: Record<string, string> = {
  'gild:ami-id': 'a CycloneDX property name in the SBOM (src/smoke/cyclonedx-sbom.ts), not a tag',
  'gild:package-manifest-command': 'a CycloneDX property name in the SBOM (src/smoke/cyclonedx-sbom.ts), not a tag',
  'gild:revoked-': 'a prefix the retirement plan matches to read an AMI as a restore will leave it (src/plan/plan-image-retirement.ts), not a key it writes',
};

async function sourceFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => path.join(entry.parentPath, entry.name));
}

/** Every `'gild:…'`, `"gild:…"` or `` `gild:… `` literal in src/ (and templates/), by key, with the files it is in. */
async function gildKeyLiterals(): Promise<Map<string, Set<string>>> {
  const found = new Map<string, Set<string>>();
  const files = [...(await sourceFiles(path.join(repoRoot, 'src'))), ...(await sourceFiles(path.join(repoRoot, 'templates')).catch(() => []))];
  for (const file of files) {
    if (file.endsWith(path.join('stages', 'gild-tag-keys.ts'))) continue;
    for (const match of (await readFile(file, 'utf8')).matchAll(/['"`](gild:[a-z0-9-]+)/g)) {
      const key = match[1]!;
      if (!found.has(key)) found.set(key, new Set());
      found.get(key)!.add(path.relative(repoRoot, file));
    }
  }
  return found;
}

describe('the tag keys gild writes to AMIs and snapshots', () => {
  it('lists every gild: key written anywhere in src/ (a key not listed would not be counted against the 50)', async () => {
    const literals = await gildKeyLiterals();
    expect(literals.size).toBeGreaterThan(30);
    const listed = new Set<string>(gildAmiTagKeys);
    const missing = [...literals].filter(([key]) => !listed.has(key) && !Object.hasOwn(notAmiKeys, key)).map(([key, files]) => `${key} (in ${[...files].join(', ')})`);
    expect(missing, 'add these keys to src/stages/gild-tag-keys.ts, or to notAmiKeys here with why they never reach an AMI').toEqual([]);
  });

  it('lists no key gild does not write (each one costs authors a tag)', async () => {
    const literals = await gildKeyLiterals();
    // NOTE: gild:prefix is being added by another change (the prefix an AMI was published under); listed ahead of it.
    const unused = gildAmiTagKeys.filter((key) => key !== 'Name' && key !== 'gild:prefix' && !literals.has(key));
    expect(unused).toEqual([]);
    expect(Object.keys(notAmiKeys).filter((key) => !literals.has(key))).toEqual([]);
  });

  it('lists each key once', () => {
    expect(new Set(gildAmiTagKeys).size).toBe(gildAmiTagKeys.length);
  });

  it('leaves authors exactly what gild does not reserve of EC2 50', () => {
    expect(ec2TagsPerResource).toBe(50);
    expect(maxUserTags).toBe(50 - gildAmiTagKeys.length);
    expect(maxUserTags).toBeGreaterThan(0);
  });

  it('refuses an image with one tag more than the budget, saying how many it may carry and why', () => {
    const tags = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`tag${index}`, 'x']));
    expect(validateOne({ tags: tags(maxUserTags) }).errors).toEqual([]);
    const { errors } = validateOne({ tags: tags(maxUserTags + 1) });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('images/web.ts: tags: ');
    expect(errors[0]).toContain(
      `has too many tags: AWS allows 50 per image and gild reserves ${gildAmiTagKeys.length} for the tags it writes over the image's life (Name, gild:status, gild:published-at, gild:revoked-*, gild:retired-at, gild:restored-*, …), so an image can carry at most ${maxUserTags}. Remove some, or combine them`,
    );
  });
});
