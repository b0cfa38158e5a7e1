/**
 * The README's benchmark charts as small standalone SVG files: text and shapes only (no script, no external font
 * or stylesheet), so that GitHub and any browser draw them as images. Pure: data in, markup out.
 */

export interface Point {
  x: number;
  y: number;
}

export interface LineSeries {
  name: string;
  points: Point[];
  /** A level drawn across the chart as a dashed line (the same measure without what the x axis counts). */
  level?: { y: number; label: string };
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** A line under the chart: where the figures come from. */
  note?: string;
}

export interface Histogram {
  title: string;
  xLabel: string;
  /** The samples, in `unit` (above 0: the axis is logarithmic). */
  values: number[];
  /** Written after the percentiles' values. */
  unit: string;
  /** The percentiles marked on the chart. */
  percentiles?: number[];
  /** Bins per factor of ten. */
  binsPerDecade?: number;
  note?: string;
}

const WIDTH = 760;
const HEIGHT = 460;
const PLOT = { left: 90, right: WIDTH - 30, top: 96, bottom: HEIGHT - 80 };
const COLORS = ['#1f6fb4', '#c9302c', '#2e8b57', '#7b4fa0'];
const FONT = 'font-family="Helvetica, Arial, sans-serif"';
/** A white outline under a label, so that lines crossing it do not blur it. */
const HALO = 'stroke="#ffffff" stroke-width="3" paint-order="stroke"';
/** A fifth of a decade each side of the line chart's points. */
const X_MARGIN = 10 ** 0.2;

/** Text made safe for SVG markup. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** 1,234 and 12.5 as people read them: thousands grouped, at most 3 significant digits below 10. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(3)).toLocaleString('en-US');
}

/** The powers of ten covering [min, max], and 2 and 5 between them when the range spans under 3 decades. */
export function logTicks(min: number, max: number): { domain: [number, number]; ticks: number[] } {
  const lo = 10 ** Math.floor(Math.log10(min));
  const hi = 10 ** Math.max(Math.ceil(Math.log10(max)), Math.log10(lo) + 1);
  const decades = Math.round(Math.log10(hi / lo));
  const steps = decades < 3 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let power = lo; power <= hi * 1.0001; power *= 10) {
    for (const step of steps) {
      const tick = Number((power * step).toPrecision(12));
      if (tick <= hi * 1.0001) ticks.push(tick);
    }
  }
  return { domain: [lo, hi], ticks };
}

/** A linear axis from 0: its top and ticks at a round step (1, 2 or 5 × a power of ten). */
export function linearTicks(max: number, count = 5): { domain: [number, number]; ticks: number[] } {
  const top = max > 0 ? max : 1;
  const raw = top / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const hi = Math.ceil(top / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let tick = 0; tick <= hi + step / 2; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return { domain: [0, hi], ticks };
}

const logScale =
  ([lo, hi]: [number, number], [from, to]: [number, number]) =>
  (v: number) =>
    from + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (to - from);
const linearScale =
  ([lo, hi]: [number, number], [from, to]: [number, number]) =>
  (v: number) =>
    from + ((v - lo) / (hi - lo)) * (to - from);

const px = (n: number) => n.toFixed(1);

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${px(x)}" y="${px(y)}" ${attributes}>${escapeXml(content)}</text>`;
}

function frame(title: string, body: string[], note?: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ${FONT} font-size="13" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 28, title, 'text-anchor="middle" font-size="17" font-weight="bold" fill="#222"'),
    ...body,
    note ? text(WIDTH / 2, HEIGHT - 12, note, 'text-anchor="middle" font-size="11" fill="#555"') : '',
    '</svg>',
    '',
  ].join('\n');
}

/** Grid lines, tick labels and axis titles. */
function axes(
  xTicks: number[],
  x: (v: number) => number,
  yTicks: number[],
  y: (v: number) => number,
  xLabel: string,
  yLabel: string,
): string[] {
  const parts: string[] = [];
  for (const tick of yTicks) {
    parts.push(
      `<line x1="${PLOT.left}" y1="${px(y(tick))}" x2="${PLOT.right}" y2="${px(y(tick))}" stroke="#e3e3e3"/>`,
      text(PLOT.left - 8, y(tick) + 4, formatNumber(tick), 'text-anchor="end" fill="#333"'),
    );
  }
  for (const tick of xTicks) {
    parts.push(
      `<line x1="${px(x(tick))}" y1="${PLOT.top}" x2="${px(x(tick))}" y2="${PLOT.bottom}" stroke="#eeeeee"/>`,
      text(x(tick), PLOT.bottom + 18, formatNumber(tick), 'text-anchor="middle" fill="#333"'),
    );
  }
  const middleY = (PLOT.top + PLOT.bottom) / 2;
  parts.push(
    `<line x1="${PLOT.left}" y1="${PLOT.bottom}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="#333"/>`,
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.bottom}" stroke="#333"/>`,
    text((PLOT.left + PLOT.right) / 2, PLOT.bottom + 42, xLabel, 'text-anchor="middle" fill="#222"'),
    text(22, middleY, yLabel, `text-anchor="middle" fill="#222" transform="rotate(-90 22 ${px(middleY)})"`),
  );
  return parts;
}

function noData(title: string, what: string, note?: string): string {
  return frame(
    title,
    [text(WIDTH / 2, HEIGHT / 2, `no ${what} in this run`, 'text-anchor="middle" fill="#555"')],
    note,
  );
}

/** Lines of points on log–log axes (values above 0), each point labelled with its y, a legend above the plot. */
export function lineChartSvg(chart: LineChart): string {
  const series = chart.series.map((s) => ({
    ...s,
    points: s.points.filter((p) => p.x > 0 && p.y > 0 && Number.isFinite(p.x) && Number.isFinite(p.y)),
  }));
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => [...s.points.map((p) => p.y), ...(s.level ? [s.level.y] : [])]);
  if (xs.length === 0) return noData(chart.title, 'measurements', chart.note);
  // The x axis spans the points with a margin, so that none sits on the frame; ticks stay at round values.
  const xDomain: [number, number] = [Math.min(...xs) / X_MARGIN, Math.max(...xs) * X_MARGIN];
  const xAxis = {
    domain: xDomain,
    ticks: logTicks(...xDomain).ticks.filter((t) => t >= xDomain[0] && t <= xDomain[1]),
  };
  const yAxis = logTicks(Math.min(...ys), Math.max(...ys));
  const x = logScale(xAxis.domain, [PLOT.left, PLOT.right]);
  const y = logScale(yAxis.domain, [PLOT.bottom, PLOT.top]);
  const body = axes(xAxis.ticks, x, yAxis.ticks, y, chart.xLabel, chart.yLabel);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const legendY = 52 + i * 18;
    body.push(
      `<line x1="${PLOT.left}" y1="${legendY}" x2="${PLOT.left + 24}" y2="${legendY}" stroke="${color}" stroke-width="2.5"/>`,
      text(PLOT.left + 30, legendY + 4, s.name, 'fill="#222"'),
    );
    if (s.level) {
      const levelY = y(s.level.y);
      body.push(
        `<line x1="${PLOT.left}" y1="${px(levelY)}" x2="${PLOT.right}" y2="${px(levelY)}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
        text(
          PLOT.left + 6,
          levelY + 15,
          `${s.level.label}: ${formatNumber(s.level.y)}`,
          `font-size="11" fill="${color}" ${HALO}`,
        ),
      );
    }
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    if (sorted.length > 1) {
      const path = sorted.map((p) => `${px(x(p.x))},${px(y(p.y))}`).join(' ');
      body.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
    }
    for (const p of sorted) {
      body.push(
        `<circle cx="${px(x(p.x))}" cy="${px(y(p.y))}" r="4" fill="${color}"/>`,
        text(
          x(p.x),
          y(p.y) - 9,
          formatNumber(p.y),
          `text-anchor="middle" font-size="11" fill="${color}" ${HALO}`,
        ),
      );
    }
  });
  return frame(chart.title, body, chart.note);
}

/** The p-th percentile (nearest rank) of ascending values. */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Bin {
  from: number;
  to: number;
  count: number;
}

/** Counts of the values in bins of equal width on a log axis (`perDecade` per factor of ten) over `domain`. */
export function logBins(values: readonly number[], domain: [number, number], perDecade: number): Bin[] {
  const [lo, hi] = domain;
  const count = Math.round(Math.log10(hi / lo) * perDecade);
  const bins: Bin[] = Array.from({ length: count }, (_, i) => ({
    from: lo * 10 ** (i / perDecade),
    to: lo * 10 ** ((i + 1) / perDecade),
    count: 0,
  }));
  for (const v of values) {
    const at = Math.floor(Math.log10(v / lo) * perDecade + 1e-9);
    bins[Math.min(count - 1, Math.max(0, at))]!.count++;
  }
  return bins;
}

/** A histogram of the share of samples per bin on a log x axis, with percentiles marked. */
export function histogramSvg(chart: Histogram): string {
  const values = chart.values.filter((v) => v > 0 && Number.isFinite(v)).sort((a, b) => a - b);
  if (values.length === 0) return noData(chart.title, 'samples', chart.note);
  const xAxis = logTicks(values[0]!, values.at(-1)!);
  const bins = logBins(values, xAxis.domain, chart.binsPerDecade ?? 12);
  const shares = bins.map((b) => (b.count / values.length) * 100);
  const yAxis = linearTicks(Math.max(...shares));
  const x = logScale(xAxis.domain, [PLOT.left, PLOT.right]);
  const y = linearScale(yAxis.domain, [PLOT.bottom, PLOT.top]);
  const body = axes(xAxis.ticks, x, yAxis.ticks, y, chart.xLabel, 'share of samples (%)');
  bins.forEach((bin, i) => {
    if (bin.count === 0) return;
    const left = x(bin.from) + 0.5;
    const top = y(shares[i]!);
    body.push(
      `<rect x="${px(left)}" y="${px(top)}" width="${px(Math.max(1, x(bin.to) - x(bin.from) - 1))}" height="${px(PLOT.bottom - top)}" fill="${COLORS[0]}" fill-opacity="0.8"><title>${escapeXml(`${formatNumber(bin.from)}–${formatNumber(bin.to)}: ${bin.count}`)}</title></rect>`,
    );
  });
  (chart.percentiles ?? [50, 90, 99]).forEach((p, i) => {
    const value = percentileOf(values, p);
    const at = x(value);
    body.push(
      `<line x1="${px(at)}" y1="${PLOT.top}" x2="${px(at)}" y2="${PLOT.bottom}" stroke="${COLORS[1]}" stroke-width="1.5" stroke-dasharray="5 3"/>`,
      // Beside the line, on its left when the right edge is near.
      text(
        at > PLOT.right - 90 ? at - 4 : at + 4,
        PLOT.top + 14 + i * 16,
        `p${p} ${formatNumber(value)} ${chart.unit}`,
        `${at > PLOT.right - 90 ? 'text-anchor="end" ' : ''}font-size="12" fill="${COLORS[1]}" ${HALO}`,
      ),
    );
  });
  body.push(text(PLOT.left, 58, `${values.length.toLocaleString('en-US')} samples`, 'fill="#333"'));
  return frame(chart.title, body, chart.note);
}
