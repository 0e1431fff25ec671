/**
 * Type-level tests: `tsc --noEmit` checks these (vitest runs them as no-ops).
 */
import { describe, expectTypeOf, it } from 'vitest';
import { defineImage, type ImageDefinition, type ResolvedImage } from '../../src/index.ts';
import type { BaseSource, LaunchPermissions, ProvisionStep } from '../../src/definition/resolved-image.ts';
import type { OsPresetName } from '../../src/definition/presets.ts';

describe('defineImage and ImageDefinition', () => {
  it('is an identity function that keeps the literal types authors write', () => {
    const image = defineImage({ name: 'web', description: 'Web', version: '1.0.0', base: { preset: 'amazon-linux-2023' }, instanceType: 't3.micro', regions: { build: 'us-east-1' } });
    expectTypeOf(image.name).toEqualTypeOf<'web'>();
    expectTypeOf(image.base).toEqualTypeOf<{ readonly preset: 'amazon-linux-2023' }>();
  });

  it('requires name, description, version, base, instanceType and regions', () => {
    expectTypeOf<ImageDefinition['name']>().toEqualTypeOf<string>();
    type RequiredKeys = { [K in keyof ImageDefinition]-?: undefined extends ImageDefinition[K] ? never : K }[keyof ImageDefinition];
    expectTypeOf<RequiredKeys>().toEqualTypeOf<'name' | 'description' | 'version' | 'base' | 'instanceType' | 'regions'>();
    // @ts-expect-error: base is required
    defineImage({ name: 'web', description: 'Web', version: '1.0.0', instanceType: 't3.micro', regions: { build: 'us-east-1' } });
  });

  it('makes every field with a default optional', () => {
    expectTypeOf<ImageDefinition['platform']>().toEqualTypeOf<'linux' | 'windows' | undefined>();
    expectTypeOf<ImageDefinition['architecture']>().toEqualTypeOf<'x86_64' | 'arm64' | undefined>();
    expectTypeOf<ImageDefinition['provision']>().toExtend<readonly unknown[] | undefined>();
  });

  it('rejects unknown fields and wrong literal values at compile time', () => {
    // @ts-expect-error: architecture is x86_64 or arm64
    defineImage({ name: 'web', description: 'Web', version: '1.0.0', base: { preset: 'x' }, instanceType: 't3.micro', regions: { build: 'us-east-1' }, architecture: 'aarch64' });
    // @ts-expect-error: public must be the literal true
    defineImage({ name: 'web', description: 'Web', version: '1.0.0', base: { preset: 'x' }, instanceType: 't3.micro', regions: { build: 'us-east-1' }, launchPermissions: { public: false } });
  });
});

describe('ResolvedImage', () => {
  it('is read-only at the top level and in nested objects', () => {
    expectTypeOf<ResolvedImage>().toEqualTypeOf<Readonly<ResolvedImage>>();
    expectTypeOf<ResolvedImage['buildInfrastructure']>().toEqualTypeOf<Readonly<ResolvedImage['buildInfrastructure']>>();
    expectTypeOf<ResolvedImage['smoke']>().toEqualTypeOf<Readonly<ResolvedImage['smoke']>>();
    expectTypeOf<ResolvedImage['copyRegions']>().toEqualTypeOf<readonly string[]>();
    const assign = (image: ResolvedImage) => {
      // @ts-expect-error: name is readonly
      image.name = 'other';
      // @ts-expect-error: lists are readonly
      image.regions.push('eu-west-1');
    };
    expectTypeOf(assign).toBeFunction();
  });

  it('has its defaults applied: no optional platform, architecture or manifest command', () => {
    expectTypeOf<ResolvedImage['platform']>().toEqualTypeOf<'linux' | 'windows'>();
    expectTypeOf<ResolvedImage['architecture']>().toEqualTypeOf<'x86_64' | 'arm64'>();
    expectTypeOf<ResolvedImage['packageManifestCommand']>().toEqualTypeOf<string>();
    expectTypeOf<ResolvedImage['buildInfrastructure']['requireImdsV2']>().toEqualTypeOf<boolean>();
  });

  it('uses discriminated unions for base, provisioning steps and launch permissions', () => {
    expectTypeOf<BaseSource['kind']>().toEqualTypeOf<'ssm' | 'filter' | 'ami' | 'image'>();
    expectTypeOf<ProvisionStep['kind']>().toEqualTypeOf<'shell' | 'script' | 'upload' | 'powershell' | 'restart'>();
    expectTypeOf<LaunchPermissions['kind']>().toEqualTypeOf<'implicit' | 'explicit' | 'public'>();
  });

  it('names the presets as a closed set', () => {
    expectTypeOf<'windows-server-2022'>().toExtend<OsPresetName>();
    expectTypeOf<'windows-2022'>().not.toExtend<OsPresetName>();
  });
});
