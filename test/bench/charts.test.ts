import { describe, expect, it } from 'vitest';
import {
  formatNumber,
  histogramSvg,
  linearTicks,
  lineChartSvg,
  logBins,
  logTicks,
  percentileOf,
} from '../../bench/charts.ts';
import { parseSvg, textsOf } from './svg.ts';

const throughput = {
  title: 'Throughput against the number of triggers',
  xLabel: 'triggers loaded (log scale)',
  yLabel: 'events per second (log scale)',
  series: [
    {
      name: 'rules engine alone',
      points: [
        { x: 10, y: 680_000 },
        { x: 100, y: 710_000 },
        { x: 1_000, y: 320_000 },
        { x: 10_000, y: 180_000 },
        { x: 100_000, y: 150_000 },
      ],
    },
    {
      name: 'ingest, batches of 500',
      points: [
        { x: 100_000, y: 22_128 },
        { x: 1_000, y: 30_100 },
        { x: 10_000, y: 27_500 },
      ],
      level: { y: 33_416, label: 'no trigger' },
    },
  ],
  note: 'npm run bench, 2026-12-01',
};

/** The plot area's bounds, read from the axes (the two dark lines). */
function plotBounds(elements: ReturnType<typeof parseSvg>) {
  const axes = elements.filter((e) => e.name === 'line' && e.attributes.stroke === '#333');
  const xs = axes.flatMap((a) => [Number(a.attributes.x1), Number(a.attributes.x2)]);
  const ys = axes.flatMap((a) => [Number(a.attributes.y1), Number(a.attributes.y2)]);
  return { left: Math.min(...xs), right: Math.max(...xs), top: Math.min(...ys), bottom: Math.max(...ys) };
}

describe('the throughput chart', () => {
  it('is one standalone SVG image with a title, labelled axes, a legend and a note', () => {
    const svg = lineChartSvg(throughput);
    const elements = parseSvg(svg);
    const root = elements[0]!;
    expect(root.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(root.attributes.viewBox).toBe(`0 0 ${root.attributes.width} ${root.attributes.height}`);
    const texts = textsOf(elements);
    expect(texts).toEqual(
      expect.arrayContaining([
        throughput.title,
        throughput.xLabel,
        throughput.yLabel,
        'rules engine alone',
        'ingest, batches of 500',
        'no trigger: 33,416',
        throughput.note,
      ]),
    );
    expect(elements.find((e) => e.name === 'title')?.text).toBe(throughput.title);
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('draws every point inside the plot, labelled with its value, joined in order of the x axis', () => {
    const elements = parseSvg(lineChartSvg(throughput));
    const bounds = plotBounds(elements);
    const circles = elements.filter((e) => e.name === 'circle');
    expect(circles).toHaveLength(8);
    for (const c of circles) {
      expect(Number(c.attributes.cx)).toBeGreaterThanOrEqual(bounds.left);
      expect(Number(c.attributes.cx)).toBeLessThanOrEqual(bounds.right);
      expect(Number(c.attributes.cy)).toBeGreaterThanOrEqual(bounds.top);
      expect(Number(c.attributes.cy)).toBeLessThanOrEqual(bounds.bottom);
    }
    expect(textsOf(elements)).toEqual(expect.arrayContaining(['680,000', '150,000', '22,128', '30,100']));
    const lines = elements.filter((e) => e.name === 'polyline');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const xs = line.attributes.points!.split(' ').map((p) => Number(p.split(',')[0]));
      expect(xs).toEqual([...xs].sort((a, b) => a - b));
    }
    // More events per second sits higher: 710,000 (at 100) above 150,000 (at 100,000).
    const rules = lines[0]!.attributes.points!.split(' ').map((p) => Number(p.split(',')[1]));
    expect(rules[1]!).toBeLessThan(rules[4]!);
  });

  it('puts ticks at powers of ten on both log axes', () => {
    const texts = textsOf(parseSvg(lineChartSvg(throughput)));
    expect(texts).toEqual(expect.arrayContaining(['10', '100', '1,000', '10,000', '100,000', '1,000,000']));
  });

  it('escapes names, and says so when there is nothing to draw', () => {
    const named = lineChartSvg({
      ...throughput,
      series: [{ name: 'a < b & "c"', points: [{ x: 1, y: 2 }] }],
    });
    expect(textsOf(parseSvg(named))).toContain('a < b & "c"');
    const empty = parseSvg(lineChartSvg({ ...throughput, series: [] }));
    expect(textsOf(empty)).toContain('no measurements in this run');
  });
});

describe('the latency chart', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  const chart = { title: 'Latency from event to webhook', xLabel: 'ms (log scale)', values, unit: 'ms' };

  it('has bars that hold every sample once, and marks p50, p90 and p99', () => {
    const elements = parseSvg(histogramSvg(chart));
    const bars = elements.filter((e) => e.name === 'rect' && e.attributes.fill !== '#ffffff');
    const counted = elements
      .filter((e) => e.name === 'title' && /: \d+$/.test(e.text))
      .map((e) => Number(e.text.split(': ')[1]));
    expect(counted).toHaveLength(bars.length);
    expect(counted.reduce((sum, n) => sum + n, 0)).toBe(100);
    const texts = textsOf(elements);
    expect(texts).toEqual(
      expect.arrayContaining([
        chart.title,
        chart.xLabel,
        'share of samples (%)',
        'p50 50 ms',
        'p90 90 ms',
        'p99 99 ms',
        '100 samples',
      ]),
    );
  });

  it('keeps bars inside the plot and scales their heights to the share of samples', () => {
    const elements = parseSvg(histogramSvg({ ...chart, values: [5, 5, 5, 50] }));
    const bounds = plotBounds(elements);
    const bars = elements.filter((e) => e.name === 'rect' && e.attributes.fill !== '#ffffff');
    expect(bars).toHaveLength(2);
    for (const bar of bars) {
      expect(Number(bar.attributes.x)).toBeGreaterThanOrEqual(bounds.left);
      expect(Number(bar.attributes.x) + Number(bar.attributes.width)).toBeLessThanOrEqual(bounds.right);
      expect(Number(bar.attributes.y) + Number(bar.attributes.height)).toBeCloseTo(bounds.bottom, 0);
    }
    const [three, one] = bars.map((b) => Number(b.attributes.height));
    expect(three! / one!).toBeCloseTo(3, 1);
  });

  it('says so when there is no sample', () => {
    expect(textsOf(parseSvg(histogramSvg({ ...chart, values: [] })))).toContain('no samples in this run');
  });
});

describe('axes and bins', () => {
  it('covers a range with powers of ten, and 2 and 5 between them over a short range', () => {
    expect(logTicks(12, 34_000)).toEqual({ domain: [10, 100_000], ticks: [10, 100, 1_000, 10_000, 100_000] });
    expect(logTicks(3, 40)).toEqual({ domain: [1, 100], ticks: [1, 2, 5, 10, 20, 50, 100] });
    expect(logTicks(10, 10).domain).toEqual([10, 100]);
    expect(linearTicks(37)).toEqual({ domain: [0, 40], ticks: [0, 10, 20, 30, 40] });
    expect(linearTicks(0.9).ticks.at(-1)).toBe(1);
  });

  it('bins every value once, each bin a tenth of a decade wide', () => {
    const values = [1, 1.3, 9.99, 10, 55, 99.9];
    const bins = logBins(values, [1, 100], 10);
    expect(bins).toHaveLength(20);
    expect(bins.reduce((sum, b) => sum + b.count, 0)).toBe(values.length);
    expect(bins[0]).toMatchObject({ from: 1, count: 1 });
    expect(bins[1]!.count).toBe(1);
    expect(bins[9]!.count).toBe(1);
    expect(bins[10]).toMatchObject({ from: 10, count: 1 });
    expect(bins[19]!.count).toBe(1);
  });

  it('reads percentiles by nearest rank and writes numbers as people read them', () => {
    expect(percentileOf([1, 2, 3, 4], 50)).toBe(2);
    expect(percentileOf([1, 2, 3, 4], 99)).toBe(4);
    expect(formatNumber(1_234_567)).toBe('1,234,567');
    expect(formatNumber(12.345)).toBe('12.3');
    expect(formatNumber(0.5)).toBe('0.5');
  });
});
