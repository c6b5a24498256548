// How a compute process gets the memory of its columns (glibc malloc settings, set per process).
//
// V8 backs every typed array with the C allocator. glibc serves blocks above 128 KiB (every column
// of a few thousand rows and more) with their own mmap and gives them back with munmap when the
// array is collected, so every new column of every round starts on fresh pages: the kernel faults
// and zeroes each 4 KiB page at first touch. On the project's 2-core VM that cost 2–3× the
// multiplication itself (bench/RESULTS.md, "Engine memory"). With mmap off and a high trim
// threshold, freed columns stay in the process heap and the next round's columns reuse them: a
// node keeps the memory of its largest job (its peak resident size is what it was before).
//
// The settings are read by glibc when a process starts, so they are passed in the environment of
// the processes that compute: the node daemons and job workers (src/net/cluster.ts, the demo, the
// tests); a `mosaik node` started without them says so (src/cli/main.ts; README "Running the
// nodes"). Other C libraries ignore these variables; a value the operator set is kept.

/** glibc tunables for compute processes: no mmap for large blocks, never trim, grow the heap 256 MiB at a time. */
export const COLUMN_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_MAX_: '0',
  MALLOC_TRIM_THRESHOLD_: String(2 ** 34),
  MALLOC_TOP_PAD_: String(2 ** 28),
};

/** `env` with the column memory settings added where the operator set none. */
export function withColumnMemory(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [k, v] of Object.entries(COLUMN_MALLOC_ENV)) if (out[k] === undefined) out[k] = v;
  return out;
}

/** True when this process started with the settings (or the operator chose the allocator's mmap policy). */
export function hasColumnMemory(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.MALLOC_MMAP_MAX_ !== undefined || env.MOSAIK_COLUMN_MEMORY === 'off';
}
