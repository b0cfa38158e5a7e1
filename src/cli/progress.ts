// A one-line progress bar on standard error, redrawn in place on a terminal; elsewhere (a pipe, a CI log) a
// plain line every few seconds instead. Lines printed through it go above the bar.
import type { SendProgress } from '../simulator/sender.ts';

const WIDTH = 28;

export interface ProgressBar {
  /** The bar at `share` (0 to 1) followed by `text`. */
  draw(share: number, text: string): void;
  /** The bar of a simulated feed being sent. */
  update(progress: SendProgress): void;
  /** Prints a line (to standard output) above the bar. */
  line(text: string): void;
  done(): void;
}

function bar(share: number, text: string): string {
  const filled = Math.round(Math.min(1, Math.max(0, share)) * WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${text}`;
}

function describe(p: SendProgress): string {
  const share = p.total === 0 ? 1 : Math.min(1, p.answered / p.total);
  const rate = p.elapsedMs > 0 ? (p.answered / p.elapsedMs) * 1000 : 0;
  return bar(
    share,
    `${p.answered}/${p.total} events · accepted ${p.accepted} · duplicate ${p.duplicate} · rejected ${p.rejected}` +
      `${p.failed ? ` · failed ${p.failed}` : ''} · actions ${p.actions} · ${rate.toFixed(1)}/s · ` +
      `${(p.elapsedMs / 1000).toFixed(0)} s`,
  );
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const tty = stream.isTTY === true && stream === process.stderr && process.stdout.isTTY === true;
  let last = '';
  let lastPlain = 0;
  const clear = () => {
    if (tty && last) stream.write('\r\x1b[2K');
  };
  const show = (text: string) => {
    last = text;
    if (tty) stream.write(`\r\x1b[2K${last}`);
    else if (performance.now() - lastPlain > 5000) {
      lastPlain = performance.now();
      stream.write(`${last}\n`);
    }
  };
  return {
    draw: (share, text) => show(bar(share, text)),
    update: (progress) => show(describe(progress)),
    line(text) {
      clear();
      process.stdout.write(`${text}\n`);
      if (tty && last) stream.write(last);
    },
    done() {
      if (tty && last) stream.write(`\r\x1b[2K${last}\n`);
      else if (last) stream.write(`${last}\n`);
      last = '';
    },
  };
}
