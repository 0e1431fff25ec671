/** What every benchmark hands to the report: its variants side by side and one target ratio. */
import type { VariantResult } from './measure.ts';

export interface BenchmarkResult {
  readonly name: string;
  readonly title: string;
  readonly variants: readonly VariantResult[];
  /** How each variant's median is shown, e.g. ms per definition; defaults to the median in ms. */
  readonly unit?: { readonly label: string; readonly per: (variant: VariantResult) => number };
  readonly ratio: {
    readonly label: string;
    readonly value: number;
    /** Human-readable target, e.g. "≥ 1.5×". */
    readonly target: string;
    readonly met: boolean;
    /** How the figure is printed when it is not a plain ratio, e.g. "163 ms, 1.31×". */
    readonly shown?: string;
  };
  readonly notes?: readonly string[];
}
