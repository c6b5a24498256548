// The public description of what a statistic sums over: a column of the analysis table as a value
// or as a level's indicator (ColRef), and the discrete keys of a table of cells (CellKey: a factor
// or a binned value). Browser-safe: the requester plans with these; src/stats/secure.ts computes
// the sums inside MPC. Reveals nothing.

/** A column of the analysis table as a value, or as the indicator [column = level]. */
export type ColRef = { column: string; level?: number; shift?: number };

/** A discrete key of a cell: a factor (value − min, size levels) or a binned value (bucket index). */
export type CellKey = { column: string; kind: 'factor'; min: number; size: number } | { column: string; kind: 'bins'; thresholds: number[] };

export const keySize = (k: CellKey): number => (k.kind === 'factor' ? k.size : k.thresholds.length + 1);
