// A map bounded by bytes, in order of last use: once the entries exceed the budget the least
// recently used go first, and an entry larger than the whole budget is not kept. What the nodes'
// in-memory caches of shares have in common (./analysis-cache.ts, ./indicator-cache.ts).
export class ByteLru<V> {
  /** Map order is use order: the first is the least recently used. */
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;

  constructor(private readonly budget: number) {}

  /** The value of `key` without marking it used. */
  peek(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** The value of `key`, marked used. */
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /** Keeps `value` (of `bytes`) under `key`, replacing what was there; evicts beyond the budget. */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.budget) return;
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    for (const k of this.entries.keys()) {
      if (this.total <= this.budget) break;
      this.delete(k);
    }
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.total -= e.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  /** Every key and value, least recently used first (deleting the current one while iterating is safe). */
  *[Symbol.iterator](): IterableIterator<[string, V]> {
    for (const [k, e] of this.entries) yield [k, e.value];
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes of the entries kept. */
  get bytes(): number {
    return this.total;
  }
}

/**
 * Entries the three nodes made alike, each under node 0's tag (./cache-agreement.ts), within a byte
 * budget (ByteLru): a join's line-up (./lineup-cache.ts), an EXISTS's flag (./exists-cache.ts).
 */
export class TaggedCache<V> {
  private readonly entries: ByteLru<{ tag: string; value: V }>;
  /** Entries this node made, and jobs that used a kept one (for tests and status). */
  made = 0;
  used = 0;

  constructor(o: { bytes: number }, private readonly sizeOf: (v: V) => number) {
    this.entries = new ByteLru(o.bytes);
  }

  find(key: string): { tag: string; value: V } | undefined {
    return this.entries.get(key);
  }

  put(key: string, tag: string, value: V): void {
    this.entries.set(key, { tag, value }, this.sizeOf(value));
    this.made++;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
