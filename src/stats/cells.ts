// The public description of what a statistic sums over: a column of the analysis table as a value
// or as a level's indicator (ColRef), and the discrete keys of a table of cells (CellKey: a factor
// or a binned value). Browser-safe: the requester plans with these; src/stats/secure.ts computes
// the sums inside MPC. Reveals nothing.

/** A column of the analysis table as a value, or as the indicator [column = level]. */
export type ColRef = { column: string; level?: number; shift?: number };

/**
 * A discrete key of a cell: a factor (size levels: min, min + step, …; step 1 unless the column
 * takes only every step-th value, e.g. age_band's) or a binned value (bucket index).
 */
export type CellKey = { column: string; kind: 'factor'; min: number; size: number; step?: number } | { column: string; kind: 'bins'; thresholds: number[] };

/** A key's thresholds: [x ≥ t_k] for each level but the lowest (a factor's from min and step, bins' as given). */
export const keyThresholds = (k: CellKey): number[] => (k.kind === 'bins' ? k.thresholds : Array.from({ length: k.size - 1 }, (_, i) => k.min + (i + 1) * (k.step ?? 1)));

export const keySize = (k: CellKey): number => (k.kind === 'factor' ? k.size : k.thresholds.length + 1);
