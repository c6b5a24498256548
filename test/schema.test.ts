import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeValue, encodeValue, makeCodeList, parseDate, prefixRange, SchemaError, type ColumnSpec } from '../src/ingest/schema.js';

const icd = makeCodeList('icd10', [['E11.9'], ['E10'], ['E11'], ['E110'], ['I10'], ['A00'], ['E12']]);
const lists = new Map([[icd.name, icd]]);

describe('data model encodings', () => {
  it('sorts code lists and finds prefix ranges', () => {
    assert.deepEqual(icd.codes, ['A00', 'E10', 'E11', 'E11.9', 'E110', 'E12', 'I10']);
    assert.deepEqual(prefixRange(icd, 'E11'), [2, 5]);
    assert.deepEqual(prefixRange(icd, 'E'), [1, 6]);
    assert.deepEqual(prefixRange(icd, 'Z'), [7, 7]);
    assert.deepEqual(prefixRange(icd, ''), [0, 7]);
  });
  it('encodes and decodes each type', () => {
    const cases: [ColumnSpec, string, bigint][] = [
      [{ name: 'n', type: 'int' }, '-5', BigInt.asUintN(64, -5n)],
      [{ name: 'd', type: 'date' }, '1970-01-02', 1n],
      [{ name: 'd', type: 'date' }, '1969-12-31', BigInt.asUintN(64, -1n)],
      [{ name: 'x', type: 'decimal' }, '1.5', 3n << 15n],
      [{ name: 'c', type: 'code', codeList: 'icd10' }, 'E11', 2n],
      [{ name: 'b', type: 'bool' }, 'true', 1n],
      [{ name: 'p', type: 'person_id' }, '0101701234', 101701234n],
    ];
    for (const [spec, raw, enc] of cases) {
      assert.equal(encodeValue(spec, raw, lists), enc);
      const back = decodeValue(spec, enc, lists);
      if (spec.type !== 'person_id' && spec.type !== 'bool') assert.equal(String(back), spec.type === 'decimal' ? '1.5' : raw.replace(/^\+/, ''));
    }
  });
  it('rejects bad values with a message naming the column', () => {
    const bad: [ColumnSpec, string][] = [
      [{ name: 'age', type: 'int', min: 0, max: 130 }, '131'],
      [{ name: 'age', type: 'int' }, '12a'],
      [{ name: 'when', type: 'date' }, '2023-02-30'],
      [{ name: 'dx', type: 'code', codeList: 'icd10' }, 'E99'],
      [{ name: 'pid', type: 'person_id' }, String(2n ** 34n)],
      [{ name: 'req', type: 'int' }, ''],
    ];
    for (const [spec, raw] of bad) assert.throws(() => encodeValue(spec, raw, lists), (e: Error) => e instanceof SchemaError && e.message.startsWith(spec.name));
    assert.equal(parseDate('2024-02-29'), 19782);
  });
});
