import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { renderResultsPage, writeResultsPage, type BenchReport } from '../../bench/results-page';

const report: BenchReport = {
  date: '2026-11-30T09:00:00.000Z',
  quick: true,
  machine: 'load average at the end 3.1 2.0 1.0; 2 cores (AMD EPYC), 23.5 GiB, host, node v20.20.2',
  totalSeconds: 301.4,
  load: { start: [2.5, 1.2, 0.6], end: [3.1, 2.0, 1.0], cores: 2 },
  commit: 'abc1234',
  results: [
    {
      id: 'p3',
      title: 'P3: polling cost',
      setup: 'a 10-minute Glue job run at time scale 60',
      figures: [
        {
          name: 'Glue calls per run',
          value: 13,
          unit: 'calls',
          baselineName: 'fixed 6 s',
          baseline: 98,
          ratio: 13 / 98,
          goal: '≤ 20',
        },
      ],
      markdown: '| x | y |\n| --- | --- |\n| 1 | 2 |\n',
      raw: {},
    },
  ],
};

test('the page names the date, the load, the commit and every figure with its baseline and ratio', () => {
  const page = renderResultsPage(report);
  assert.match(page, /Date: 2026-11-30T09:00:00\.000Z \(`--quick`/);
  assert.match(
    page,
    /at the start 2\.50, 1\.20, 0\.60,\s+at the end 3\.10, 2\.00, 1\.00 \(the benchmarks' own processes included\), on 2 cores/,
  );
  assert.match(page, /shared with other work/);
  assert.match(page, /commit `abc1234`/);
  assert.match(page, /\| P3 \| Glue calls per run \| 13\.0 calls \| fixed 6 s: 98\.0 calls \| 0\.13× \| ≤ 20 \|/);
  assert.match(page, /## P3: polling cost\n\nSetup: a 10-minute Glue job run at time scale 60\./);
});

test('a median is shown with the spread of its repetitions', () => {
  const spread = { ...report.results[0]!.figures[0]!, valueSpread: { min: 12, max: 15, n: 3 } };
  const page = renderResultsPage({ ...report, results: [{ ...report.results[0]!, figures: [spread] }] });
  assert.match(page, /\| 13\.0 calls \(12\.0–15\.0, n=3\) \| fixed 6 s: 98\.0 calls \|/);
});

test('an idle machine is not called shared, even if the benchmarks loaded it by the end; a report without load says so', () => {
  assert.match(renderResultsPage({ ...report, load: { start: [0.2], end: [0.4], cores: 2 } }), /otherwise idle/);
  assert.match(renderResultsPage({ ...report, load: { start: [0.8], end: [1.6], cores: 2 } }), /otherwise idle/);
  assert.match(renderResultsPage({ ...report, load: undefined }), /Machine load was not recorded separately/);
});

test('a file that is not a bench report is refused, naming what it has', () => {
  assert.throws(() => renderResultsPage({ figures: [] } as unknown as BenchReport), /not a bench report.*figures/);
});

test('writing keeps the JSON beside the page', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'results-page-'));
  try {
    writeResultsPage(report, root);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(root, 'docs/results/benchmarks.json'), 'utf8')), report);
    assert.match(fs.readFileSync(path.join(root, 'docs/results/benchmarks.md'), 'utf8'), /^# Benchmark results/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
