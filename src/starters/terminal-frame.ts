/**
 * A block of lines redrawn in place on a terminal, for the live view. Each line is cut to the terminal's width, so
 * it takes exactly one row and the next redraw moves up over exactly what the last one drew: no line wraps, no
 * stale line is left behind. (log-update does the same, but is ESM-only and this package is CommonJS.)
 */
import type { Terminal } from './common';

const ESC = '\x1b';
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

/** Redraws a block of lines in place on `terminal`; the cursor stays on the line after the block. */
export class TerminalFrame {
  /** The widths of the lines drawn last, to know how many rows they take now. */
  private drawn: number[] = [];

  constructor(private readonly terminal: Terminal) {}

  /** Replaces the lines drawn last with `lines`, each cut to the terminal's width. */
  draw(lines: string[]): void {
    const columns = Math.max(this.terminal.columns || 80, 2);
    const shown = this.fitRows(lines).map((l) => fitLine(l, columns));
    // A terminal narrowed since the last draw may have re-wrapped those lines into more rows.
    const rows = this.drawn.reduce((n, w) => n + Math.max(1, Math.ceil(w / columns)), 0);
    const up = rows > 0 ? `${ESC}[${rows}A` : '';
    this.terminal.write(`${up}\r${ESC}[0J${shown.map((l) => `${l}\n`).join('')}`);
    this.drawn = shown.map(displayWidth);
  }

  /** At most the terminal's height less one: rows scrolled out of sight cannot be redrawn. */
  private fitRows(lines: string[]): string[] {
    const height = this.terminal.rows;
    if (!height || lines.length < height) return lines;
    const keep = Math.max(height - 2, 0);
    return [...lines.slice(0, keep), `… ${lines.length - keep} more line(s): make the terminal taller to see them`];
  }
}
