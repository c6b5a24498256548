// How a compute process gets the memory of its columns (glibc malloc settings, set per process).
//
// V8 backs every typed array with the C allocator. glibc serves blocks above 128 KiB (every column
// of a few thousand rows and more) with their own mmap and gives them back with munmap when the
// array is collected, so every new column of every round starts on fresh pages: the kernel faults
// and zeroes each 4 KiB page at first touch. On the project's 2-core VM that cost 2–3× the
// multiplication itself (bench/RESULTS.md, "Engine memory"). With mmap off below 32 MiB and a high
// trim threshold, freed columns stay in the process heap and the next round's columns reuse them: a
// node keeps the memory of its largest job (its peak resident size is what it was before).
// Memory touched for the first time still costs a fault per 4 KiB page (≈ 16 µs each on that VM:
// a large join's columns, one-hot indicators being made). glibc ≥ 2.35's `glibc.malloc.hugetlb=1`
// asks the kernel for transparent huge pages on the heap (madvise; the kernel's default THP mode
// honours it), so it faults 2 MiB at a time: the national-scale study at 300 000 citizens took
// 33.8 s instead of 53.8 s with the same peak resident size (bench/RESULTS.md). Older glibc ignores
// the tunable; a kernel with THP off ignores the advice.
//
// Blocks of 32 MiB and more (columns of 4 M rows and more: a national-scale join's) are still
// mapped on their own and unmapped when collected: kept in the heap, the heap's high-water mark
// grew ≈ 1 GiB above the live columns at 3 M citizens (freed blocks between live ones did not fit
// the next ones); mapped, a node's peak was 10–15 % lower and the study 5–7 % slower (their pages
// fresh each time; bench/RESULTS.md, "A node's memory at national scale"). Rounds of smaller
// columns keep reusing the heap.
//
// The settings are read by glibc when a process starts, so they are passed in the environment of
// the processes that compute: the node daemons and job workers (src/net/cluster.ts, the demo, the
// tests); a `mosaik node` started without them says so (src/cli/main.ts; README "Running the
// nodes"). Other C libraries ignore these variables; a value the operator set is kept.
//
// The same processes also set V8's old-generation growth (growHeapForColumns): V8 sets the next
// full collection's limit at 1.8× the live heap (≈ 30 MiB of code and objects in a daemon, so
// 54 MiB); when that leaves less room than the young generation's capacity (32 MiB once it has
// grown), V8 starts marking again right after every full collection. A daemon computing a join
// then ran ≈ 320 full collections (4.2 s) in the main job, 12 % of its CPU, though its columns
// live outside the JS heap. At 4× the live heap a full collection comes only when the heap grows
// or the columns' allocations press (bench/RESULTS.md, "Full collections").

import { setFlagsFromString } from 'node:v8';

/** The glibc tunable for transparent huge pages on malloc's memory. */
const HUGE_PAGES = 'glibc.malloc.hugetlb=1';

/**
 * glibc settings for compute processes: mmap only for blocks of 32 MiB and more, never trim, grow
 * the heap 256 MiB at a time, transparent huge pages on the heap and the mapped blocks.
 */
export const COLUMN_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_MAX_: String(65536),
  MALLOC_MMAP_THRESHOLD_: String(2 ** 25),
  MALLOC_TRIM_THRESHOLD_: String(2 ** 34),
  MALLOC_TOP_PAD_: String(2 ** 28),
  GLIBC_TUNABLES: HUGE_PAGES,
};

/**
 * `env` with the column memory settings added where the operator set none (their own GLIBC_TUNABLES
 * get the huge-page tunable appended unless they set glibc.malloc.hugetlb themselves).
 */
export function withColumnMemory(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [k, v] of Object.entries(COLUMN_MALLOC_ENV)) if (out[k] === undefined) out[k] = v;
  const t = out.GLIBC_TUNABLES!;
  if (!t.includes('glibc.malloc.hugetlb')) out.GLIBC_TUNABLES = t ? `${t}:${HUGE_PAGES}` : HUGE_PAGES;
  return out;
}

/** True when this process started with the settings (or the operator chose the allocator's mmap policy). */
export function hasColumnMemory(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.MALLOC_MMAP_MAX_ !== undefined || env.MOSAIK_COLUMN_MEMORY === 'off';
}

/** The old generation may grow to this many percent more than its live size before V8 collects it. */
export const COMPUTE_HEAP_GROWING_PERCENT = 300;

/**
 * Sets V8's heap growing factor for a process that computes (a daemon, a job, a cluster worker):
 * call once at its start. The JS heap's limit only decides when V8 marks; the process's columns
 * are outside it, so this changes little of its resident size (the JS heap of a daemon is
 * ≈ 30–60 MiB).
 */
export function growHeapForColumns(): void {
  setFlagsFromString(`--heap-growing-percent=${COMPUTE_HEAP_GROWING_PERCENT}`);
}

/**
 * Node options for daemons started three to a host (the main job's local cluster), where no core is
 * idle for V8's helper threads:
 * - V8 collects on the main thread only. Its helper threads shorten a pause on an idle core, but
 *   with three nodes on the same cores there is none: on the project's 2-core VM the main job took
 *   21.4–23.5 s with this against 22.6–23.9 s without, 36.7–40.8 against 39.7–41.7 CPU-s (five
 *   alternating pairs; bench/RESULTS.md, "Products into a reused output").
 * - TurboFan inlines less into each function it optimises (a cumulative 300 bytes of bytecode
 *   instead of 920). Its compiles run on a helper thread too, and in a main job they were 2.1–2.7
 *   CPU-s per daemon, a third of it the merges' and the decompositions' long async functions
 *   compiled again after each deoptimisation; with the smaller budget 1.4–1.8 CPU-s, and the main
 *   job 23.7–26.0 s against 24.3–28.1 s (five alternating pairs; bench/RESULTS.md, "The main job's
 *   spare core").
 * A node on a host of its own keeps V8's defaults.
 */
export const COLOCATED_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--max-inlined-bytecode-size-cumulative=300'];
