/**
 * The live view on an 80-column terminal: the ANSI output of successive redraws, recorded from a fake TTY and
 * replayed into a screen buffer that wraps and moves the cursor as a terminal does, shows exactly the last frame:
 * no row wider than 79 (the last column stays free), no line wrapped, no stale line from an earlier frame. The same
 * when the terminal gets narrower between redraws, whether it reflows its rows or cuts them. And on a pipe, one line
 * per change.
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
 * {@link Screen.resize} narrows or widens it as a terminal does: reflowing (xterm.js, VTE, iTerm2, tmux: a row
 * longer than the new width wraps onto more rows, the cursor staying with its text) or cutting (xterm).
 */
class Screen {
  grid: string[][];
  /** Whether a row continues the one above (the text wrapped there), as a reflowing terminal keeps it. */
  private continued: boolean[];
  row = 0;
  col = 0;
  private pendingWrap = false;
  wraps = 0;

  constructor(
    public columns: number,
    readonly rows: number,
  ) {
    this.grid = Array.from({ length: rows }, () => []);
    this.continued = Array.from({ length: rows }, () => false);
  }

  /** The terminal's new width: `reflow` re-wraps each line of text at it, `cut` keeps the rows and shows less. */
  resize(columns: number, mode: 'reflow' | 'cut'): void {
    this.pendingWrap = false;
    if (mode === 'cut') {
      this.columns = columns;
      this.col = Math.min(this.col, columns - 1);
      return;
    }
    // The lines of text down to the cursor's row (the blank rows below it are not text), and where the cursor is.
    const last = Math.max(this.row, this.text().length - 1);
    const lines: string[][] = [];
    let cursor = { line: 0, offset: 0 };
    for (let r = 0; r <= last; r++) {
      const cells = Array.from({ length: this.grid[r]!.length }, (_, i) => this.grid[r]![i] ?? ' ');
      if (r > 0 && this.continued[r]) lines[lines.length - 1]!.push(...cells);
      else lines.push(cells);
      if (r === this.row) cursor = { line: lines.length - 1, offset: lines.at(-1)!.length - cells.length + this.col };
    }
    const grid: string[][] = [];
    const continued: boolean[] = [];
    lines.forEach((cells, i) => {
      const first = grid.length;
      for (let at = 0; at === 0 || at < cells.length; at += columns) {
        grid.push(cells.slice(at, at + columns));
        continued.push(at > 0);
      }
      if (i === cursor.line) {
        this.row = first + Math.floor(cursor.offset / columns);
        this.col = cursor.offset % columns;
      }
    });
    // Rows that no longer fit go into the scrollback, above the screen.
    const over = Math.max(grid.length - this.rows, 0);
    this.grid = [...grid.slice(over), ...Array.from({ length: this.rows - grid.length + over }, () => [])];
    this.continued = [...continued.slice(over), ...Array.from({ length: this.rows - grid.length + over }, () => false)];
    this.row -= over;
    this.columns = columns;
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

  /** The screen's rows as shown (a cut terminal shows no more than its width), trailing spaces trimmed and empty rows dropped. */
  text(): string[] {
    const lines = this.grid.map((r) =>
      Array.from({ length: Math.min(r.length, this.columns) }, (_, i) => r[i] ?? ' ')
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
      this.continued[this.row] = false;
    } else if (op === 'J' && n === 0) {
      this.grid[this.row]!.length = this.col;
      for (let r = this.row + 1; r < this.rows; r++) [this.grid[r], this.continued[r]] = [[], false];
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
      this.continued.shift();
      this.continued.push(false);
    } else this.row++;
    this.continued[this.row] = false;
  }

  private print(ch: string): void {
    if (this.pendingWrap) {
      this.wraps++;
      this.lineFeed();
      this.continued[this.row] = true;
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

  /** A terminal of `columns` × 40 that feeds `screen`, with two header lines above the view, and the view on it. */
  async function narrowing(mode: 'reflow' | 'cut') {
    const screen = new Screen(100, 40);
    const written: string[] = [];
    const terminal: Terminal = {
      columns: 100,
      rows: 40,
      write: (chunk) => {
        written.push(chunk);
        screen.feed(chunk);
      },
    };
    const header = ['started workflow csv-pipeline-sales-2026-11-30 run 0193a1b2', '  http://127.0.0.1:8233/'];
    for (const line of header) terminal.write(`${line}\n`);
    const draw = await progressView({ out: () => {}, err: () => {}, isTTY: true, terminal }, '   ', now);
    for (let i = 0; i <= 2; i++) draw(progressAt(i));
    const frame = (i: number, columns: number) =>
      formatProgressLines(progressAt(i), now()).map((l) => fitLine(`   ${l}`, columns - 1).trimEnd());
    assert.deepEqual(screen.text(), [...header, ...frame(2, 100)], 'at 100 columns');
    assert.ok(
      frame(2, 100).some((l) => l.length > 60),
      'the test needs lines wider than 60 columns',
    );
    screen.resize(60, mode);
    terminal.columns = 60;
    written.length = 0;
    return { screen, written, header, draw, frame };
  }

  /** Every row written, escape sequences left out, is at most `columns` wide. */
  function assertRowsFit(written: string[], columns: number) {
    for (const chunk of written)
      // eslint-disable-next-line no-control-regex -- what is left after the escape sequences
      for (const row of chunk.replace(/\x1b\[\d*[A-Za-z]/g, '').split(/[\r\n]/))
        assert.ok(displayWidth(row) <= columns, `a line of ${displayWidth(row)} columns: ${row}`);
  }

  test('narrowed from 100 to 60 columns between redraws, on a terminal that reflows: the view at 60, no stale row', async () => {
    const { screen, written, header, draw, frame } = await narrowing('reflow');
    const reflowed = screen.text().length;
    assert.ok(reflowed > header.length + frame(2, 100).length, 'the narrowing wrapped rows of the view');
    for (let i = 3; i <= 4; i++) {
      draw(progressAt(i));
      assert.deepEqual(screen.text(), [...header, ...frame(i, 60)], `after frame ${i}`);
      assert.equal(screen.wraps, 0, 'a line wrapped');
    }
    assertRowsFit(written, 60);
  });

  test('narrowed from 100 to 60 columns between redraws, on a terminal that cuts rows: the view at 60, no stale row', async () => {
    const { screen, written, header, draw, frame } = await narrowing('cut');
    for (let i = 3; i <= 4; i++) {
      draw(progressAt(i));
      const rows = screen.text();
      const view = frame(i, 60);
      assert.deepEqual(rows.slice(-view.length), view, `after frame ${i}`);
      // Above the view, only what was there before it (the erase for a reflow may have taken some of it).
      const above = rows.slice(0, -view.length);
      assert.deepEqual(above, header.slice(0, above.length), `above the view after frame ${i}`);
      assert.equal(screen.wraps, 0, 'a line wrapped');
    }
    assertRowsFit(written, 60);
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
