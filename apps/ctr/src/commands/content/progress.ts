/** A one-line transfer progress display for a terminal: `ref  12.0 MiB / 512.0 MiB  45.2 MiB/s  2s`. */

/** Sizes in powers of 1024 with one decimal (`8.0 KiB`), like ctr's progress bars. */
export function bytesString(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let size = n;
  let i = 0;
  while (size >= 1024 && i < units.length - 1) {
    size /= 1024;
    i++;
  }
  return `${size.toFixed(1)} ${units[i]}`;
}

/** Renders progress of one transfer on a terminal stream, at most every `intervalMs`. */
export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #label: string;
  readonly #total: number;
  readonly #started = performance.now();
  readonly #intervalMs: number;
  #done = 0;
  #last = 0;
  #width = 0;

  constructor(out: NodeJS.WriteStream, label: string, total: number, intervalMs = 100) {
    this.#out = out;
    this.#label = label;
    this.#total = total;
    this.#intervalMs = intervalMs;
  }

  /** Records `n` more bytes and redraws when due. */
  add(n: number): void {
    this.#done += n;
    const now = performance.now();
    if (now - this.#last >= this.#intervalMs) {
      this.#last = now;
      this.#draw(now);
    }
  }

  /** Draws the final state, with `status` (e.g. `done`), and ends the line. */
  finish(status: string): void {
    this.#draw(performance.now(), status);
    this.#out.write("\n");
  }

  #draw(now: number, status?: string): void {
    const secs = Math.max((now - this.#started) / 1000, 1e-3);
    const amount = this.#total > 0 ? `${bytesString(this.#done)} / ${bytesString(this.#total)}` : bytesString(this.#done);
    const pct = this.#total > 0 ? ` ${Math.min(100, Math.floor((this.#done / this.#total) * 100))}%` : "";
    const line = `${this.#label}  ${status ?? "writing"}${pct}  ${amount}  ${bytesString(this.#done / secs)}/s  ${secs.toFixed(1)}s`;
    const pad = Math.max(0, this.#width - line.length);
    this.#width = line.length;
    this.#out.write(`\r${line}${" ".repeat(pad)}`);
  }
}
