// Aligned text tables that fit the terminal (80 columns when not a TTY):
// the widest cells are shortened with "…" until the row fits.
import { style, type Styler } from "./style.ts";

export interface Column {
  header: string;
  /** Never shorten below this many characters. */
  min?: number;
  /** Columns with a lower value are shortened first (default 1). */
  shrinkFirst?: number;
  /** Right-align (numbers). */
  right?: boolean;
  /** Colour for a cell, chosen from its (untruncated) text. */
  color?: (text: string) => Styler | undefined;
}

const GAP = "  ";

export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return "…".slice(0, width);
  return `${text.slice(0, width - 1)}…`;
}

/**
 * Shrinks column widths until the table fits in `max` characters: columns
 * by shrinkFirst, then the widest first, never below their minimum.
 */
function fit(widths: number[], mins: number[], order: number[], max: number): number[] {
  const w = [...widths];
  const total = () => w.reduce((a, b) => a + b, 0) + GAP.length * (w.length - 1);
  while (total() > max) {
    let pick = -1;
    for (let i = 0; i < w.length; i++) {
      if (w[i]! <= mins[i]!) continue;
      if (pick < 0 || order[i]! < order[pick]! || (order[i] === order[pick] && w[i]! > w[pick]!)) pick = i;
    }
    if (pick < 0) break; // cannot shrink further: let it wrap
    w[pick]!--;
  }
  return w;
}

export function renderTable(columns: Column[], rows: string[][], opts: { width?: number; color?: boolean } = {}): string {
  const max = opts.width ?? 80;
  const natural = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? "").length)));
  const mins = columns.map((c, i) => Math.min(natural[i]!, Math.max(c.min ?? 6, c.header.length)));
  const widths = fit(natural, mins, columns.map((c) => c.shrinkFirst ?? 1), max);
  const line = (cells: string[], header: boolean): string =>
    cells
      .map((cell, i) => {
        const col = columns[i]!;
        const w = widths[i]!;
        const t = truncate(cell, w);
        const last = i === cells.length - 1;
        const padded = col.right ? t.padStart(w) : last ? t : t.padEnd(w);
        if (!opts.color) return padded;
        if (header) return style("bold", padded);
        const s = col.color?.(cell);
        return s ? style(s, padded) : padded;
      })
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.header), true), ...rows.map((r) => line(r, false))].join("\n") + "\n";
}
