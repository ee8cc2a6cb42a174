/**
 * A block of lines redrawn in place on a terminal, for the live view. Each line is cut to fit the terminal's width, so
 * it takes exactly one row and the next redraw moves up over exactly what the last one drew: no line wraps, no
 * stale line is left behind, also when the terminal got narrower in between. log-update does the redraw.
 */
import type { createLogUpdate } from 'log-update' with { 'resolution-mode': 'import' };
import type { Terminal } from './common';

/** Double-width cells: East Asian wide and full-width forms, and emoji. */
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;
/** Zero-width: combining marks, zero-width joiners and spaces, variation selectors. */
const ZERO = /^(?:\p{M}|[\u200b-\u200f]|[\ufe00-\ufe0f])$/u;

/** How many terminal cells a character takes. */
const cellWidth = (ch: string): number => (ZERO.test(ch) ? 0 : WIDE.test(ch) ? 2 : 1);

/** How many terminal cells `text` takes (no escape sequences in it). */
export const displayWidth = (text: string): number => [...text].reduce((n, ch) => n + cellWidth(ch), 0);

/**
 * `line` as one terminal row of at most `columns` cells: control characters (a newline or an escape inside an AWS
 * error message) become spaces, and a longer line is cut and ends with `…`.
 */
export function fitLine(line: string, columns: number): string {
  // eslint-disable-next-line no-control-regex
  const text = line.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  if (displayWidth(text) <= columns) return text;
  let out = '';
  let width = 0;
  for (const ch of text) {
    const w = cellWidth(ch);
    if (width + w > columns - 1) break;
    out += ch;
    width += w;
  }
  return `${out}…`;
}

/**
 * Redraws a block of lines in place on `terminal` with log-update; the cursor stays on the line after the block.
 * Open one with {@link TerminalFrame.open}.
 */
export class TerminalFrame {
  /** The lines drawn last, as written (cut to the width of then), to know how many rows they take now. */
  private drawn: string[] = [];

  private constructor(
    private readonly terminal: Terminal,
    private readonly render: ReturnType<typeof createLogUpdate>,
  ) {}

  /**
   * A frame on `terminal`. log-update is ESM-only and this package is CommonJS: tsc keeps this `import()` as it is
   * (module node16), so Node loads the ESM module both from dist/ and under tsx.
   */
  static async open(terminal: Terminal): Promise<TerminalFrame> {
    const { createLogUpdate } = await import('log-update');
    // log-update reads only `columns`, `rows`, `isTTY` and `write` of its stream, which a Terminal has. showCursor:
    // log-update would hide the cursor on process.stderr, not on `terminal`.
    return new TerminalFrame(
      terminal,
      createLogUpdate(terminal as unknown as NodeJS.WriteStream, { showCursor: true }),
    );
  }

  /**
   * Replaces the lines drawn last with `lines`. Each is cut to the terminal's width first: log-update would wrap a
   * long line over several rows, and a wrapped line pushes the view off a short terminal.
   */
  draw(lines: string[]): void {
    // One column less than the width: log-update ends a redraw with erase-to-end-of-line, which on a full row (the
    // cursor waiting on the last column to wrap) erases that row's last character.
    const columns = Math.max((this.terminal.columns || 80) - 1, 2);
    const fitted = this.fitRows(lines).map((l) => fitLine(l, columns));
    this.eraseRewrapped();
    this.render(fitted.join('\n'));
    this.drawn = fitted;
  }

  /**
   * After the terminal got narrower than lines drawn last, erases the rows they take now, and starts log-update
   * afresh. log-update erases as many rows as it wrote; but a terminal that reflows on a resize (xterm.js, VTE,
   * iTerm2, Terminal.app, Windows Terminal, kitty, tmux) wraps each longer line over more rows, and those left over
   * would stay on screen, one stale copy per narrowing. A terminal that cuts lines instead (xterm, the Linux
   * console) loses as many rows above the view as the reflow would have added.
   */
  private eraseRewrapped(): void {
    const columns = this.terminal.columns || 80;
    const rows = this.drawn.reduce((n, l) => n + Math.max(Math.ceil(displayWidth(l) / columns), 1), 0);
    if (rows <= this.drawn.length) return;
    // The cursor is on the row below the view: erase it and each row above that the view takes now.
    this.terminal.write(`${'\u001b[2K\u001b[1A'.repeat(rows)}\u001b[2K\u001b[G`);
    this.render.done();
  }

  /**
   * At most the terminal's height less one (log-update adds a last empty row), with a line that says what is cut:
   * log-update itself would drop the first rows silently.
   */
  private fitRows(lines: string[]): string[] {
    const height = this.terminal.rows;
    if (!height || lines.length < height) return lines;
    const keep = Math.max(height - 2, 0);
    return [...lines.slice(0, keep), `… ${lines.length - keep} more line(s): make the terminal taller to see them`];
  }
}
