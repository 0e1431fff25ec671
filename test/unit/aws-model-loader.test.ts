/**
 * The service models the wire check reads are kept in node_modules/.cache without the documentation it does not read
 * (aws-model-loader.ts): every rule read from a kept model is the rule read from botocore's own file, and a changed
 * botocore file is read again, never answered from the copy kept of the old one.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { documentedFilterNames } from '../support/aws-model-check.ts';
import { loadServiceModel, modelCacheFile, probeKey, pyenvVersionChoice, readModelFile, type ServiceModel } from '../support/aws-model-loader.ts';

function botocoreModel(service: string): ServiceModel {
  const kept = loadServiceModel(service)!;
  const text = kept.file.endsWith('.gz') ? gunzipSync(readFileSync(kept.file)).toString('utf8') : readFileSync(kept.file, 'utf8');
  return { service, file: kept.file, ...(JSON.parse(text) as Omit<ServiceModel, 'service' | 'file'>) };
}

/** Everything but documentation, which the checks read only where `documentedFilterNames` and the MaxResults rules look (compared above). */
function undocumented(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(undocumented);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([name]) => name !== 'documentation' && name !== 'documentationUrl')
      .map(([name, inner]) => [name, undocumented(inner)]),
  );
}

const scratch = mkdtempSync(path.join(tmpdir(), 'gild-model-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the kept service models', () => {
  it.each(['ec2', 'ssm', 'sts', 'autoscaling'])('%s: every operation, every shape its input reaches and every rule the checks read, as in botocore’s own file', (service) => {
    const kept = loadServiceModel(service)!;
    const original = botocoreModel(service);
    expect(kept.metadata).toEqual(original.metadata);
    expect(Object.keys(kept.operations).sort()).toEqual(Object.keys(original.operations).sort());
    const reached = new Set<string>();
    for (const [operation, definition] of Object.entries(original.operations)) {
      const { name, input, http } = kept.operations[operation]!;
      expect({ name, input, http }, operation).toEqual({ name: definition.name, input: definition.input, http: definition.http });
      expect(documentedFilterNames(kept, operation), operation).toEqual(documentedFilterNames(original, operation));
      const documentation = (model: ServiceModel) => (definition.input ? model.shapes[definition.input.shape]?.members?.MaxResults?.documentation : undefined);
      expect(documentation(kept), operation).toBe(documentation(original));
      const pending = definition.input ? [definition.input.shape] : [];
      for (let shape = pending.pop(); shape !== undefined; shape = pending.pop()) {
        if (reached.has(shape)) continue;
        reached.add(shape);
        expect(undocumented(kept.shapes[shape]), shape).toEqual(undocumented(original.shapes[shape]));
        const { members = {}, member, key, value } = original.shapes[shape] ?? {};
        for (const next of [...Object.values(members), member, key, value]) if (next) pending.push(next.shape);
      }
    }
    expect(Object.keys(kept.shapes).sort()).toEqual([...reached].sort());
  });

  it('reads a botocore file again once it changes, never the copy kept of the old one', () => {
    const source = loadServiceModel('rbin')!.file;
    const text = source.endsWith('.gz') ? gunzipSync(readFileSync(source)).toString('utf8') : readFileSync(source, 'utf8');
    const modelFile = path.join(scratch, 'rbin', '2021-06-15', 'service-2.json');
    mkdirSync(path.dirname(modelFile), { recursive: true });
    writeFileSync(modelFile, text);
    utimesSync(modelFile, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    const first = readModelFile(modelFile);
    const firstKept = modelCacheFile(modelFile);
    expect(existsSync(firstKept)).toBe(true);
    expect(readModelFile(modelFile)).toEqual(first);

    // The same file, one operation fewer, at another time: the kept copy of the old file is not what is read.
    const parsed = JSON.parse(text) as { operations: Record<string, unknown> };
    const dropped = Object.keys(parsed.operations)[0]!;
    delete parsed.operations[dropped];
    writeFileSync(modelFile, JSON.stringify(parsed));
    utimesSync(modelFile, new Date('2026-01-02T00:00:00Z'), new Date('2026-01-02T00:00:00Z'));
    const second = readModelFile(modelFile);
    expect(first.operations[dropped]).toBeDefined();
    expect(second.operations[dropped]).toBeUndefined();
    expect(Object.keys(second.operations)).toHaveLength(Object.keys(first.operations).length - 1);
    rmSync(firstKept, { force: true });
    rmSync(modelCacheFile(modelFile), { force: true });
  });

  it('keeps a model apart by what strips it: a change to what the checks read is never answered with a copy stripped by the old rules', () => {
    const file = loadServiceModel('sts')!.file;
    const loaderSource = readFileSync(new URL('../support/aws-model-loader.ts', import.meta.url), 'utf8');
    expect(modelCacheFile(file)).toBe(modelCacheFile(file, loaderSource));
    expect(modelCacheFile(file, `${loaderSource}\n// documentationRead gained a member`)).not.toBe(modelCacheFile(file));
  });
});

describe('where botocore was found, kept', () => {
  it('is asked again when `pyenv local` or `pyenv global` picks another Python', () => {
    const root = mkdtempSync(path.join(scratch, 'pyenv-'));
    const project = path.join(root, 'project');
    const nested = path.join(project, 'src', 'deep');
    mkdirSync(nested, { recursive: true });
    vi.stubEnv('PYENV_ROOT', path.join(root, 'pyenv-root'));
    try {
      mkdirSync(path.join(root, 'pyenv-root'));
      const choices = [pyenvVersionChoice(nested)];
      writeFileSync(path.join(root, 'pyenv-root', 'version'), '3.11.7\n');
      choices.push(pyenvVersionChoice(nested));
      writeFileSync(path.join(root, 'pyenv-root', 'version'), '3.12.1\n');
      choices.push(pyenvVersionChoice(nested));
      // `pyenv local` in a folder above: the nearest .python-version from the working directory upwards.
      writeFileSync(path.join(project, '.python-version'), '3.10.13\n');
      choices.push(pyenvVersionChoice(nested));
      writeFileSync(path.join(project, '.python-version'), '3.9.18\n');
      choices.push(pyenvVersionChoice(nested));
      expect(new Set(choices.map((choice) => JSON.stringify(choice))).size).toBe(choices.length);
      expect(choices.at(-1)).toEqual([`${project}: 3.9.18\n`, '3.12.1\n']);
      // The key the probe is kept by follows them (from the working directory, here the repository).
      const before = probeKey(['python3']);
      writeFileSync(path.join(root, 'pyenv-root', 'version'), '3.13.0\n');
      expect(probeKey(['python3'])).not.toBe(before);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
