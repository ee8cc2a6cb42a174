/**
 * The live view on an 80-column terminal: the ANSI output of successive redraws, recorded from a fake TTY and
 * replayed into a screen buffer that wraps and moves the cursor as a terminal does, shows exactly the last frame:
 * no row wider than 79 (the last column stays free), no line wrapped, no stale line from an earlier frame. And on a
 * pipe, one line per change.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CommandIo, Terminal } from '../../src/starters/common';
import { progressView } from '../../src/starters/live-view';
import { formatProgressLines } from '../../src/starters/progress-view';
import { displayWidth, fitLine } from '../../src/starters/terminal-frame';
import type { PipelineProgress, StepProgress } from '../../src/workflow-safe/pipeline';

/**
 * A VT100-like screen: autowrap with the deferred wrap of xterm, CR, LF (as CR LF: the tty's onlcr), cursor up and
 * down (CSI n A, CSI n B), cursor to column 1 (CSI G), erase below (CSI J, CSI 0J), erase to the end of the line and
 * the whole line (CSI K, CSI 2K) and scrolling at the bottom. One cell per code point (the test's text has
 * no wide characters). Anything else in the stream fails the test: the view must not send what this cannot show.
 */
class Screen {
  readonly grid: string[][];
  row = 0;
  col = 0;
  private pendingWrap = false;
  wraps = 0;

  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    this.grid = Array.from({ length: rows }, () => []);
  }

  feed(data: string): void {
    for (let i = 0; i < data.length;) {
      // eslint-disable-next-line no-control-regex -- the escape sequences are what this parses
      const csi = /^\x1b\[(\d*)([A-Za-z])/.exec(data.slice(i));
      if (csi) {
        this.control(Number(csi[1] || '0'), csi[2]!);
        i += csi[0].length;
        continue;
      }
      const ch = String.fromCodePoint(data.codePointAt(i)!);
      i += ch.length;
      if (ch === '\n') this.lineFeed();
      else if (ch === '\r') this.carriageReturn();
      else if (ch < ' ') assert.fail(`unexpected control character ${JSON.stringify(ch)}`);
      else this.print(ch);
    }
  }

  /** The screen's rows, trailing spaces trimmed, trailing empty rows dropped. */
  text(): string[] {
    const lines = this.grid.map((r) =>
      Array.from({ length: r.length }, (_, i) => r[i] ?? ' ')
        .join('')
        .trimEnd(),
    );
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  private control(n: number, op: string): void {
    if (op === 'A') {
      this.row = Math.max(0, this.row - Math.max(n, 1));
      this.pendingWrap = false;
    } else if (op === 'B') {
      this.row = Math.min(this.rows - 1, this.row + Math.max(n, 1));
      this.pendingWrap = false;
    } else if (op === 'G' && n <= 1) {
      this.carriageReturn();
    } else if (op === 'K' && n === 0) {
      this.grid[this.row]!.length = Math.min(this.grid[this.row]!.length, this.col);
    } else if (op === 'K' && n === 2) {
      this.grid[this.row] = [];
    } else if (op === 'J' && n === 0) {
      this.grid[this.row]!.length = this.col;
      for (let r = this.row + 1; r < this.rows; r++) this.grid[r] = [];
    } else assert.fail(`unexpected escape sequence CSI ${n} ${op}`);
  }

  private carriageReturn(): void {
    this.col = 0;
    this.pendingWrap = false;
  }

  private lineFeed(): void {
    this.carriageReturn();
    if (this.row === this.rows - 1) {
      this.grid.shift();
      this.grid.push([]);
    } else this.row++;
  }

  private print(ch: string): void {
    if (this.pendingWrap) {
      this.wraps++;
      this.lineFeed();
    }
    this.grid[this.row]![this.col] = ch;
    if (this.col === this.columns - 1) this.pendingWrap = true;
    else this.col++;
  }
}

const longError = `AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/glueline-worker/i-0abc is not authorized to perform: glue:StartJobRun on resource: arn:aws:glue:eu-west-1:123456789012:job/sales-to-parquet because no identity-based policy allows the glue:StartJobRun action`;

function step(name: StepProgress['name'], status: StepProgress['status'], extra: Partial<StepProgress> = {}) {
  return { step: name, name, status, awsIds: {}, counts: {}, ...extra } as StepProgress;
}

/** A run's progress at moment `i` of a run that fails in transform with a long AWS message. */
function progressAt(i: number): PipelineProgress {
  const at = (n: number) => (i > n ? 'succeeded' : i === n ? 'running' : 'pending');
  const steps: StepProgress[] = [
    step('stage-raw', at(0), { startedAt: '2026-11-30T10:00:00.000Z', counts: { objects: 3, bytes: 21_400 } }),
    step('crawl-raw', at(1), { startedAt: '2026-11-30T10:00:01.000Z', awsIds: { crawlerName: 'sales-raw' } }),
    step('transform', i >= 3 ? 'failed' : at(2), {
      startedAt: '2026-11-30T10:00:05.000Z',
      awsIds: { jobRunId: `jr_${'0123456789abcdef'.repeat(4)}` },
      ...(i >= 3 ? { durationMs: 25_100, error: { type: 'AccessDeniedException', message: longError } } : {}),
    }),
    step('replicate-curated', 'pending'),
    ...['us-east-1', 'eu-west-1'].flatMap((region) => [
      { ...step('crawl-curated', i >= 3 ? 'cancelled' : 'pending'), step: `crawl-curated@${region}`, region },
      {
        ...step('redshift-refresh', i >= 3 ? 'skipped' : 'pending'),
        step: `redshift-refresh@${region}`,
        region,
        skipReason: `the run failed in transform before this region's refresh could start (${longError})`,
      },
    ]),
  ];
  return {
    workflowType: 'csvPipeline',
    pipeline: 'sales',
    batchId: '2026-11-30',
    workflowId: 'csv-pipeline-sales-2026-11-30',
    runId: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    status: i >= 3 ? 'failed' : 'running',
    startedAt: '2026-11-30T10:00:00.000Z',
    steps,
  };
}

const now = () => Date.parse('2026-11-30T10:00:30.000Z');

describe('the live view', () => {
  test('at 80 columns every line fits, nothing wraps and each redraw leaves no stale line', async () => {
    const screen = new Screen(80, 24);
    const written: string[] = [];
    const terminal: Terminal = {
      columns: 80,
      rows: 24,
      write: (chunk) => {
        written.push(chunk);
        screen.feed(chunk);
      },
    };
    const out = (line: string) => terminal.write(`${line}\n`);
    const io: CommandIo = { out, err: out, isTTY: true, terminal };
    const header = ['started workflow csv-pipeline-sales-2026-11-30 run 0193a1b2', '  http://127.0.0.1:8233/'];
    for (const line of header) io.out(line);
    const draw = await progressView(io, '   ', now);
    for (let i = 0; i <= 4; i++) {
      const progress = progressAt(i);
      draw(progress);
      const expected = formatProgressLines(progress, now()).map((l) => fitLine(`   ${l}`, 79).trimEnd());
      assert.ok(
        expected.some((l) => l.endsWith('…')),
        'the test needs lines longer than 80 columns',
      );
      assert.deepEqual(screen.text(), [...header, ...expected], `after frame ${i}`);
      assert.equal(screen.wraps, 0, 'a line wrapped');
    }
    for (const chunk of written.slice(header.length))
      // eslint-disable-next-line no-control-regex -- what is left after the escape sequences
      for (const row of chunk.replace(/\x1b\[\d*[A-Za-z]/g, '').split(/[\r\n]/))
        assert.ok(displayWidth(row) <= 80, `a line of ${displayWidth(row)} columns: ${row}`);
  });

  test('a terminal too short for the view gets a cut view that still redraws cleanly', async () => {
    const screen = new Screen(80, 6);
    const terminal: Terminal = { columns: 80, rows: 6, write: (chunk) => screen.feed(chunk) };
    const draw = await progressView({ out: () => {}, err: () => {}, isTTY: true, terminal }, '', now);
    for (let i = 0; i <= 4; i++) draw(progressAt(i));
    const rows = screen.text();
    assert.equal(rows.length, 5);
    assert.match(rows[4]!, /^… 4 more line\(s\)/);
    assert.equal(screen.wraps, 0);
  });

  test('on a pipe, a line per step each time its status changes, uncut', async () => {
    const lines: string[] = [];
    const draw = await progressView({ out: (l) => lines.push(l), err: () => {}, isTTY: false }, '', now);
    for (let i = 0; i <= 4; i++) draw(progressAt(i));
    const transform = lines.filter((l) => /^\S+ transform /.test(l));
    assert.deepEqual(
      transform.map((l) => l.split(/\s+/)[2]),
      ['pending', 'running', 'failed'],
    );
    assert.ok(transform[2]!.includes(longError), 'the full error, not cut');
  });

  test('fitLine cuts by display width and replaces control characters', () => {
    assert.equal(fitLine('abc', 3), 'abc');
    assert.equal(fitLine('abcd', 3), 'ab…');
    assert.equal(fitLine('a\nb', 80), 'a b');
    assert.equal(displayWidth(fitLine('表表表表', 5)), 5);
    assert.equal(fitLine('表表表表', 5), '表表…');
  });
});
