// Governance (DESIGN.md, "Governance", "Consent", "Disclosure control"): who may run what, on whose
// data, for which purpose, under whose consent, with what privacy budget. Entry points:
//   identity.ts     Ed25519 keys and signatures of researchers, custodians and nodes
//   consortium.ts   the consortium configuration: members, their keys, datasets, declared purposes
//   study.ts        signed studies, custodians' approvals, researchers' query requests
//   policy.ts       custodian policies (SCQL-style column control) and authorize(), the node's check
//   plan-uses.ts    the column uses of a planned query, for authorize()
//   usage.ts        usage per custodian per study (licensing)
//   budget.ts       per-study privacy budget across queries
//   consent.ts      the consent register: rule, dataset, citizen API; consent-mpc.ts: the filter in MPC
//   consent-update.ts  the consent custodian's signed notice of a new register version (for the log)
// The noise itself is src/mpc/noise.ts.
export * from './errors.js';
export * from './canonical.js';
export * from './identity.js';
export * from './consortium.js';
export * from './study.js';
export * from './policy.js';
export * from './plan-uses.js';
export * from './usage.js';
export * from './budget.js';
export * from './consent.js';
export * from './consent-update.js';
