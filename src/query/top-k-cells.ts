// Reading a ranked release (./top-k.ts) once its lanes are opened: which cells it shows, in order,
// and their aggregate values. Pure (the requester, the browser, a node in tests).

/** The cells and their aggregate values from the opened ranked lanes (requester or node side). */
export function rankedCells(k: number, outAggs: number[], values: ArrayLike<bigint>): { cells: number[]; value: (a: number, v: number) => bigint } {
  const per = 2 + outAggs.length;
  if (values.length !== k * per) throw new Error(`expected ${k * per} ranked values, got ${values.length}`);
  const shown = Array.from({ length: k }, (_, t) => t).filter((t) => values[t] === 1n);
  return {
    cells: shown.map((t) => Number(values[k + t]!)),
    value: (a, v) => values[(2 + a) * k + shown[v]!]!,
  };
}
