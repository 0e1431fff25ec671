/**
 * Which CPU architecture an EC2 instance type runs. Graviton (arm64) families
 * are `a1` and those whose generation digit is followed by `g`: t4g, m6g,
 * m7gd, c6gn, x2gd, im4gn, is4gen, g5g, hpc7g, r8g… Every other family is
 * x86_64 (Intel or AMD), including g4dn/g5 where the leading `g` means GPU.
 */
export type Architecture = 'x86_64' | 'arm64';

const gravitonFamily = /^(?:a1|[a-z]+\d+g[a-z]*)$/;

/** `m7g.large` → `m7g`; `c7i-flex.large` → `c7i`. */
export function instanceFamily(instanceType: string): string {
  return instanceType.split('.')[0]!.replace(/-flex$/, '');
}

export function architectureOf(instanceType: string): Architecture {
  return gravitonFamily.test(instanceFamily(instanceType)) ? 'arm64' : 'x86_64';
}
