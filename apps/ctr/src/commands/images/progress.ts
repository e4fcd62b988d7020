/**
 * ctr's transfer progress table (`content.ShowProgress` / `content.Display` with `progress.Writer`):
 * one line per blob — ref, status, a 40-column bar, bytes/total — and an `elapsed … total … (rate)` line,
 * redrawn every 100 ms in place. Shown only when stdout is a terminal.
 */
import type { ProgressEvent } from "@containerts/client";
import { formatTable, narrow } from "../../tabwriter.js";
import { humanBytes } from "./shared.js";

interface Status {
  ref: string;
  status: string;
  offset: number;
  total: number;
}

const GREEN = "\x1b[32m";
const RESET = "\x1b[0m";

/** ctr's `progress.Bar` formatted with `%40r`. */
export function bar(fraction: number, width = 40): string {
  const h = Math.min(1, Math.max(0, fraction));
  const inner = width - 2;
  const positive = Math.floor(inner * h);
  return `|${GREEN}${"+".repeat(positive)}${RESET}${"-".repeat(inner - positive)}|`;
}

/** Go's `%W.Ps` for a string: truncated to P characters, right-aligned in W. */
function fmtS(s: string, width: number, precision: number): string {
  return s.slice(0, precision).padStart(width);
}

/** The table of `content.Display` for the statuses, as text. */
export function renderProgress(statuses: readonly Status[], elapsedMs: number): string {
  let total = 0;
  let text = "";
  for (const s of statuses) {
    total += s.offset;
    switch (s.status) {
      case "downloading":
      case "uploading":
        text += `${s.ref}:\t${s.status}\t${bar(s.total > 0 ? s.offset / s.total : 0)}\t${fmtS(humanBytes(s.offset), 8, 8)}/${humanBytes(s.total)}\t\n`;
        break;
      case "resolving":
      case "waiting":
        text += `${s.ref}:\t${s.status}\t${bar(0)}\t\n`;
        break;
      default:
        text += `${s.ref}:\t${s.status}\t${bar(1)}\t\n`;
    }
  }
  const secs = elapsedMs / 1000;
  const rate = secs > 0 ? Math.floor(total / secs) : 0;
  text += `elapsed: ${secs.toFixed(1).padEnd(4)}s\ttotal: ${fmtS(humanBytes(total), 7, 6)}\t(${humanBytes(rate)}/s)\t\n`;
  return formatTable(text, narrow);
}

/** A live progress table on a terminal; a no-op elsewhere. */
export class ProgressDisplay {
  readonly #out: NodeJS.WriteStream;
  readonly #enabled: boolean;
  readonly #statuses = new Map<string, Status>();
  readonly #start = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #lines = 0;

  constructor(out: NodeJS.WriteStream = process.stdout, enabled: boolean = out.isTTY === true) {
    this.#out = out;
    this.#enabled = enabled;
    if (enabled) {
      this.#timer = setInterval(() => this.#draw(), 100);
      this.#timer.unref();
    }
  }

  /** True when the table is drawn. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Records an event (unpack events are not part of ctr's table). */
  update = (e: ProgressEvent): void => {
    if (!this.#enabled || e.status === "unpacking" || e.status === "unpacked") return;
    const s = this.#statuses.get(e.ref);
    if (s === undefined) this.#statuses.set(e.ref, { ref: e.ref, status: e.status, offset: e.offset, total: e.total });
    else Object.assign(s, { status: e.status, offset: e.offset, total: e.total });
  };

  /** Marks what is still in flight as done (or leaves it, on failure), draws once more and stops. */
  stop(success: boolean): void {
    if (!this.#enabled) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (success) {
      for (const s of this.#statuses.values()) {
        if (s.status === "resolving") s.status = "resolved";
        else if (s.status !== "exists" && s.status !== "done" && s.status !== "resolved" && s.status !== "mounted") {
          s.status = "done";
          s.offset = s.total;
        }
      }
    }
    this.#draw();
  }

  #draw(): void {
    const text = renderProgress([...this.#statuses.values()], Date.now() - this.#start);
    let clear = "";
    for (let i = 0; i < this.#lines; i++) clear += "\x1b[1A\x1b[2K\r";
    this.#out.write(clear + text);
    this.#lines = countLines(text, this.#out.columns ?? 0);
  }
}

/** Lines `text` takes on a terminal `width` columns wide (escape sequences do not count). */
function countLines(text: string, width: number): number {
  if (width <= 0) return 0;
  const lines = text.split("\n");
  let n = -1;
  for (const line of lines) {
    const len = line.replace(/\x1b\[[0-9]+m/g, "").length;
    n += Math.floor(Math.max(0, len - 1) / width) + 1;
  }
  return n;
}
