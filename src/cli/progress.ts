/**
 * A progress bar on stderr for long runs: items done, rate, ETA. Redrawn in place on a TTY (at most
 * every 100 ms); elsewhere (logs, CI) a plain line every 10% so output stays readable; none with
 * `--quiet` (mode 'off'). Images and text embedding (`textProgress`) each get one.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Where the bar goes (default stderr): anything with `write`, and `isTTY` for a terminal. */
  stream?: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };
  /** Force plain lines even on a TTY, or disable output entirely. */
  mode?: 'auto' | 'lines' | 'off';
  /** What is counted: items (default), or bytes (shown as kB/MB/GB). */
  unit?: 'items' | 'bytes';
}

/** A byte count as people read it: 512 B, 1.5 kB, 254.0 MB (powers of 1000, as the Hub shows sizes). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let u = 0;
  while (Math.abs(value) >= 1000 && u < units.length - 1) {
    value /= 1000;
    u++;
  }
  return u === 0 ? `${value} B` : `${value.toFixed(1)} ${units[u]}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The progress mode a command's flags ask for: none with --quiet; plain lines while JSON goes to stdout; else by terminal. */
export function progressMode(argv: { quiet?: boolean }, jsonToStdout = false): NonNullable<ProgressOptions['mode']> {
  return argv.quiet === true ? 'off' : jsonToStdout ? 'lines' : 'auto';
}

/**
 * An `onTextProgress` callback: a bar labelled "text" over the distinct phrases, shown only when
 * some must go through the text tower (cached ones count as done from the start), ended when the
 * last is embedded; a later embedding gets a new bar.
 */
export function textProgress(mode: ProgressOptions['mode']): (done: number, total: number) => void {
  let bar: Progress | undefined;
  return (done, total) => {
    if (bar === undefined) {
      if (done >= total) return;
      bar = new Progress({ label: 'text', total, mode });
    }
    bar.update(done);
    if (done >= total) {
      bar.finish();
      bar = undefined;
    }
  };
}

export class Progress {
  private done = 0;
  private failed = 0;
  private readonly start = performance.now();
  /** Where the rate is measured from: the start, or the first update when work was already done then (a resumed run, cached phrases). */
  private base: { done: number; at: number } | undefined;
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.mode !== 'lines' && this.stream.isTTY === true;
  }

  /** Sets the absolute count (e.g. when work resumes part-way). */
  update(done: number, failed = this.failed): void {
    this.base ??= { done: done > 0 ? done : 0, at: done > 0 ? performance.now() : this.start };
    this.done = done;
    this.failed = failed;
    this.draw(false);
  }

  tick(ok = true): void {
    this.done++;
    if (!ok) this.failed++;
    this.draw(false);
  }

  private line(): string {
    // Only work timed by this bar counts: items already done when it first heard of them have no time.
    const base = this.base ?? { done: 0, at: this.start };
    const elapsed = (performance.now() - base.at) / 1000;
    const timed = this.done - base.done;
    const rate = timed > 0 && elapsed > 0 ? timed / elapsed : Number.NaN;
    const eta = (this.options.total - this.done) / rate;
    const fraction = this.options.total > 0 ? this.done / this.options.total : 1;
    const width = 24;
    const bar = '█'.repeat(Math.round(fraction * width)).padEnd(width, '░');
    const failed = this.failed > 0 ? ` ${this.failed} failed` : '';
    const counts = this.options.unit === 'bytes'
      ? `${formatBytes(this.done)}/${formatBytes(this.options.total)}${failed} ${Number.isNaN(rate) ? '--' : formatBytes(Math.round(rate))}/s`
      : `${this.done}/${this.options.total}${failed} ${Number.isNaN(rate) ? '--' : rate.toFixed(1)}/s`;
    return `${this.options.label} ${bar} ${counts} ETA ${formatDuration(eta)}`;
  }

  private draw(final: boolean): void {
    if (this.options.mode === 'off' || this.options.total <= 1) return;
    const now = performance.now();
    if (this.tty) {
      if (!final && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line()}\x1b[K${final ? '\n' : ''}`);
    } else {
      const decile = Math.floor((10 * this.done) / this.options.total);
      if (decile !== this.lastDecile || final) {
        this.lastDecile = decile;
        if (!final || decile !== 10) this.stream.write(`${this.line()}\n`);
      }
    }
  }

  finish(): void {
    this.draw(true);
  }
}
