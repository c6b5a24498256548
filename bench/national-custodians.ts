// The custodians of the national-scale benchmark (bench/jobs.ts `national`), in a process of their
// own as `mosaik ingest` runs at each custodian: it generates the seeded registers, puts each in
// person-id order (src/ingest/person-order.ts), splits the columns the study reads into replicated
// shares (src/mpc/share.ts) and writes each node's shares into that node's encrypted store
// (src/node/store.ts), then exits. The node processes never hold plaintext or another node's
// shares, so each one's peak RSS is a node's.
//
// Usage (run by party 0): node national-custodians.js <citizens> <reads: {dataset: [column]}> <nodes: [{dir, key}]>
// (JSON; `key` is the path of the node's store key, PEM); prints the rows per dataset as JSON.
import { readFileSync } from 'node:fs';
import { generateRegisters } from '../src/demo/registers.js';
import { inPersonOrder } from '../src/ingest/person-order.js';
import { splitShares, type ShareTriple } from '../src/mpc/share.js';
import { PARTIES } from '../src/net/channel.js';
import { ShareStore, shareColumns } from '../src/node/store.js';

async function main(): Promise<void> {
  const [citizens, readsJson, nodesJson] = process.argv.slice(2);
  const reads = JSON.parse(readsJson!) as Record<string, string[]>;
  const nodes = JSON.parse(nodesJson!) as { dir: string; key: string }[];
  const stores = PARTIES.map((q) => new ShareStore(nodes[q]!.dir, readFileSync(nodes[q]!.key, 'utf8'), q));
  const regs = generateRegisters({ citizens: Number(citizens), seed: 1 });
  const rows: Record<string, number> = {};
  for (const r of regs.all) {
    const columns = reads[r.schema.name];
    if (!columns) continue;
    const ds = inPersonOrder({ schema: r.schema, codeLists: regs.codeLists, rows: r.length, columns: r.columns });
    const shares: ShareTriple[] = columns.map((c) => splitShares(ds.columns.get(c)!));
    for (const q of PARTIES) {
      const header = { name: r.schema.name, version: 'v1', schema: r.schema, codeLists: [], rows: ds.rows, columns, party: q, ...(ds.sortedBy ? { sortedBy: ds.sortedBy } : {}) };
      await stores[q]!.write(header, shareColumns(shares.map((t) => t[q])));
    }
    rows[r.schema.name] = ds.rows;
  }
  process.stdout.write(JSON.stringify(rows));
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
