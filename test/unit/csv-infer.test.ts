import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../../devstack/paths';
import { columnName, inferColumns } from '../../src/starters/csv-infer';

const HEADERS = ['order_id', 'Sold On', 'Price (EUR)', '  Qty  ', '2024 total', '', '---', 'café', 'A-B_c', 'ÄÖ x'];

/** The Glue job's own rule (records.normalize_name, loaded alone: no Spark needed), asked of Python. */
function jobNames(headers: string[]): string[] {
  const script =
    'import importlib.util, json, sys\n' +
    "spec = importlib.util.spec_from_file_location('records', 'glueline_transform/records.py')\n" +
    'records = importlib.util.module_from_spec(spec); spec.loader.exec_module(records)\n' +
    'print(json.dumps([records.normalize_name(h) for h in json.loads(sys.stdin.read())]))';
  const out = execFileSync('python3', ['-c', script], {
    cwd: path.join(repoRoot, 'glue'),
    input: JSON.stringify(headers),
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

describe('init names columns as the Glue job matches headers', () => {
  test('every header folds to the name the job folds it to', () => {
    const names = HEADERS.map(columnName);
    assert.deepEqual(names, jobNames(HEADERS));
    assert.equal(columnName('Price (EUR)'), 'price__eur');
  });

  test('a header that names a column twice after folding is refused, naming it', () => {
    assert.throws(() => inferColumns('Sold On,sold_on\n1,2\n', 10), /names sold_on more than once/);
  });

  test('types the sampled rows', () => {
    const { columns, sampled } = inferColumns('id,Sold On,price\n1,2024-01-02,1.50\n2,2024-01-03,2.25\n', 10);
    assert.equal(sampled, 2);
    assert.deepEqual(
      columns.map((c) => [c.name, c.type]),
      [
        ['id', 'int'],
        ['sold_on', 'date'],
        ['price', 'decimal(18,2)'],
      ],
    );
  });
});
