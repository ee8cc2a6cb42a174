/**
 * Issue 16's "done when", as docs/your-own-pipeline.md walks it from `glueline init`, on the local stack with real
 * Spark: in a folder of its own (the current directory), `init` from a CSV of other columns than any sample; a
 * transform that derives a column (declared in addedColumns) and rejects rows by a rule; `provision`; a batch run.
 * `query` shows the derived column in the table the generated refresh made, `rejects` the rule's rows with its
 * reason and the row that did not type, and the counts add up. `init` again refuses to overwrite.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadSpecFile } from '../../src/starters/spec-file';
import type { PipelineSpec } from '../../src/workflow-safe/spec';
import type { ListedRun } from '../../src/starters/list';
import { formatDuration } from '../../src/starters/progress-view';
import { createSpecRedshiftTargets } from '../../devstack/redshift-targets';
import { glueline, queryRows, startCliWorker, type CliWorker } from '../../devstack/testkit/cli';
import { stack, unique } from '../../devstack/testkit/stack';

/** One Spark run; Spark's start-up alone takes tens of seconds on a busy 2-core machine. */
const RUN_TIMEOUT_MS = 600_000;

const CSV = [
  'shipment_id,shipped_on,carrier,weight_kg,distance_km',
  '901,2026-11-30,Ferry & Co,12.5,40',
  '902,2026-11-30,"Road, Rail",0.0,120',
  '903,2026-11-29,Air,3.25,800',
  '904,2026-11-30,Road,heavy,15',
  '905,2026-11-28,Rail,7.00,60',
  '906,2026-11-30,Air,-1.50,300',
].join('\n');

const TRANSFORM = `from pyspark.sql import functions as F


def transform(df, ctx):
    ctx.reject(F.col("weight_kg") <= 0, "weight_kg must be positive")
    return df.withColumn("tonne_km", (F.col("weight_kg") * F.col("distance_km") / 1000).cast("decimal(12,4)"))
`;

describe('glueline init: from a CSV to rows in Redshift with a transform of yours (issue 16)', () => {
  const cwd = process.cwd();
  const name = `ship-${unique('i')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')}`.slice(0, 40);
  const batchId = 'ship-1';
  let workDir: string;
  let spec: PipelineSpec;
  let cli: CliWorker | undefined;

  before(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'glueline-init-'));
    fs.writeFileSync(path.join(workDir, 'shipments-2026-11-30.csv'), CSV);
    process.chdir(workDir);
  });

  after(async () => {
    await cli?.stop();
    process.chdir(cwd);
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('init writes a spec with the inferred types and a transform stub, and refuses to overwrite them', async () => {
    const init = await glueline('init', '--csv', 'shipments-2026-11-30.csv', '--name', name, '--spec', 'ship.yaml');
    assert.equal(init.code, 0, init.stderr);
    const module = `transforms/${name.replace(/-/g, '_')}.py`;
    assert.match(init.stdout, new RegExp(`^wrote ship\\.yaml and ${module.replace('.', '\\.')}`));
    assert.match(
      init.stdout,
      /columns \(from the header and 6 row\(s\)\): shipment_id int, shipped_on date, carrier string, weight_kg string, distance_km int/,
    );
    assert.match(init.stdout, /glueline provision --spec ship\.yaml/);
    assert.ok(fs.existsSync(path.join(workDir, module)));

    const again = await glueline('init', '--csv', 'shipments-2026-11-30.csv', '--name', name, '--spec', 'ship.yaml');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /ship\.yaml and .* already exist: nothing was written; pass --force to overwrite/);
  });

  test(
    'with a derived column and a rule, provision and a batch: query shows the column, rejects the rows, the counts add up, list the run',
    { timeout: RUN_TIMEOUT_MS + 180_000 },
    async () => {
      // 'heavy' made weight_kg a string: type it as the numbers it should be, so that row is rejected by typing.
      const text = fs
        .readFileSync('ship.yaml', 'utf8')
        .replace('{ name: weight_kg, type: string }', "{ name: weight_kg, type: 'decimal(10,2)' }")
        .replace('  module: ', "  addedColumns:\n    - { name: tonne_km, type: 'decimal(12,4)' }\n  module: ");
      fs.writeFileSync('ship.yaml', text);
      fs.writeFileSync(`transforms/${name.replace(/-/g, '_')}.py`, TRANSFORM);
      spec = loadSpecFile('ship.yaml');

      const provisioned = await glueline('provision', '--spec', 'ship.yaml', '--endpoint', stack().aws.endpoint);
      assert.equal(provisioned.code, 0, provisioned.stderr);
      await createSpecRedshiftTargets(stack().aws.endpoint, spec);
      cli = await startCliWorker(unique('init'));

      const run = await glueline(
        'run',
        '--spec',
        'ship.yaml',
        '--batch-id',
        batchId,
        '--files',
        'shipments-2026-11-30.csv',
        '--wait',
      );
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /rows: +6 in, 3 out, 3 rejected/);

      const table = name.replace(/-/g, '_');
      const query = await glueline(
        'query',
        '--spec',
        'ship.yaml',
        '--region',
        'us-east-1',
        '--sql',
        `select shipment_id, carrier, tonne_km from ${table} where batch_id = '${batchId}' order by shipment_id`,
      );
      assert.equal(query.code, 0, query.stderr);
      const rows = queryRows(query.stdout);
      assert.deepEqual(rows, [
        ['901', 'Ferry & Co', '0.5000'],
        ['903', 'Air', '2.6000'],
        ['905', 'Rail', '0.4200'],
      ]);

      const rejects = await glueline('rejects', '--spec', 'ship.yaml', '--batch-id', batchId, '--json');
      assert.equal(rejects.code, 0, rejects.stderr);
      const document = JSON.parse(rejects.stdout) as {
        rowsIn: number;
        rowsRejected: number;
        rows: { line: number; reason: string }[];
      };
      assert.deepEqual(
        document.rows.map((r) => [r.line, r.reason]).sort((a, b) => Number(a[0]) - Number(b[0])),
        [
          [3, 'weight_kg must be positive'],
          [5, "weight_kg: 'heavy' is not a valid decimal(10,2)"],
          [7, 'weight_kg must be positive'],
        ],
      );
      // 6 in = 3 in Redshift + 3 rejected.
      assert.equal(document.rowsIn, 6);
      assert.equal(document.rowsIn, rows.length + document.rowsRejected);

      // list shows the completed run's rows (from its outcome memo) and duration, in --json and in the table.
      const listed = await glueline('list', '--spec', 'ship.yaml', '--json');
      assert.equal(listed.code, 0, listed.stderr);
      const run1 = (JSON.parse(listed.stdout) as { runs: ListedRun[] }).runs.find((r) => r.batchId === batchId)!;
      assert.equal(run1.status, 'COMPLETED');
      assert.deepEqual([run1.rowsIn, run1.rowsOut, run1.rowsRejected, run1.failedStep], [6, 3, 3, null]);
      assert.equal(run1.figuresFrom, 'memo');
      assert.ok(run1.durationMs > 0 && run1.closeTime);
      const listTable = await glueline('list', '--spec', 'ship.yaml');
      assert.match(
        listTable.stdout,
        new RegExp(
          `\\| ${batchId} +\\| COMPLETED +\\| ${formatDuration(run1.durationMs)} +\\| 6/3/3 +\\| +\\| ${run1.workflowId}$`,
          'm',
        ),
      );
    },
  );
});
