/**
 * A column aligner with the semantics of Go's text/tabwriter, so tables print exactly as ctr's do:
 * tab-terminated cells form columns; a column's width is computed over each block of consecutive lines
 * that have that column; the last cell of a line is not part of any column.
 */

/** Options mirroring tabwriter.NewWriter(output, minwidth, tabwidth, padding, padchar, flags). */
export interface TabWriterOptions {
  readonly minwidth: number;
  readonly tabwidth: number;
  readonly padding: number;
  readonly padchar: " " | "\t";
}

/** ctr's most common table writer: NewWriter(os.Stdout, 1, 8, 1, ' ', 0). */
export const narrow: TabWriterOptions = { minwidth: 1, tabwidth: 8, padding: 1, padchar: " " };
/** ctr's wide table writer: NewWriter(os.Stdout, 4, 8, 4, ' ', 0). */
export const wide: TabWriterOptions = { minwidth: 4, tabwidth: 8, padding: 4, padchar: " " };
/** ctr's tab-padded writer (content ls): NewWriter(os.Stdout, 1, 8, 1, '\t', 0). */
export const tabbed: TabWriterOptions = { minwidth: 1, tabwidth: 8, padding: 1, padchar: "\t" };

const textWidth = (s: string): number => [...s].length;

/** Formats text (lines separated by "\n", cells by "\t") into aligned output. */
export function formatTable(text: string, opts: TabWriterOptions): string {
  const raw = text.split("\n");
  const terminated = text.endsWith("\n");
  if (terminated) raw.pop();
  const lines = raw.map((l) => l.split("\t"));
  const widths: number[] = [];
  let out = "";

  const pad = (textw: number, cellw: number) => {
    if (opts.padchar === "\t") {
      if (opts.tabwidth === 0) return "";
      const w = Math.ceil(cellw / opts.tabwidth) * opts.tabwidth;
      return "\t".repeat(Math.ceil((w - textw) / opts.tabwidth));
    }
    return " ".repeat(Math.max(0, cellw - textw));
  };

  const writeLines = (line0: number, line1: number) => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i] ?? [];
      line.forEach((cell, j) => {
        if (j < line.length - 1 && j < widths.length) out += cell + pad(textWidth(cell), widths[j] ?? 0);
        else if (j < line.length - 1) out += cell;
        else out += cell;
      });
      if (i < lines.length - 1 || terminated) out += "\n";
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= (lines[cur]?.length ?? 0) - 1) continue;
      writeLines(line0, cur);
      line0 = cur;
      let width = opts.minwidth;
      for (; cur < line1; cur++) {
        const line = lines[cur] ?? [];
        if (column >= line.length - 1) break;
        const w = textWidth(line[column] ?? "") + opts.padding;
        if (w > width) width = w;
      }
      widths.push(width);
      format(line0, cur);
      widths.pop();
      line0 = cur;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}

/** Collects lines and prints them aligned on flush (the TabWriter of ctr's commands). */
export class TabWriter {
  #buf = "";
  constructor(
    private readonly opts: TabWriterOptions,
    private readonly write: (s: string) => void = (s) => process.stdout.write(s),
  ) {}

  /** Appends a line; `cells` are joined with tabs (like Fprintf "%s\t%s\t\n"). */
  line(...cells: readonly string[]): void {
    this.#buf += `${cells.join("\t")}\n`;
  }

  /** Appends raw text. */
  text(s: string): void {
    this.#buf += s;
  }

  /** Writes the aligned table. */
  flush(): void {
    this.write(formatTable(this.#buf, this.opts));
    this.#buf = "";
  }
}
