// Time series with uPlot (made for them, ~50 KB, bundled): stacked areas of spend or requests by
// group, and a line of the last minute's traffic. Sized to their box and re-sized with it.
import uPlot from 'uplot';
import { h } from './dom.js';
import { cumulative, minuteData, type Stack } from './logic.js';

const COLORS = ['#2f6fdf', '#e0742d', '#2a9d6f', '#c0437a', '#8a63d2', '#c9a227', '#3aa6b9', '#7a7a7a', '#a0522d'];

function sized(box: HTMLElement, make: (width: number) => uPlot): uPlot {
  const width = () => Math.max(240, Math.floor(box.clientWidth));
  const plot = make(width());
  const observer = new ResizeObserver(() => {
    if (!box.isConnected) return observer.disconnect();
    plot.setSize({ width: width(), height: plot.height });
  });
  observer.observe(box);
  box.addEventListener('bc-dispose', () => {
    observer.disconnect();
    plot.destroy();
  });
  return plot;
}

/** A stacked area chart: each group's band on top of the ones before it. */
export function stackedChart(title: string, stack: Stack, format: (n: number) => string): HTMLElement {
  const box = h('div', { class: 'chart', 'data-chart': title });
  const figure = h('figure', { class: 'card chart-card' }, h('figcaption', {}, title), box);
  if (!stack.times.length || !stack.series.length) {
    box.append(h('p', { class: 'empty' }, 'No requests in this range.'));
    return figure;
  }
  // Cumulative values, drawn from the top band down so each fills over the ones below it.
  const sums = cumulative(stack);
  const order = stack.series.map((_, i) => i).reverse();
  const data: uPlot.AlignedData = [stack.times.map((t) => t / 1000), ...order.map((i) => sums[i]!)];
  // Each bucket (an hour, a day) is a bar: a line between buckets would draw ramps that did not happen.
  const bars = uPlot.paths.bars!({ size: [0.85, 48], align: 1 });
  const series: uPlot.Series[] = [
    {},
    ...order.map((i) => {
      const values = stack.series[i]!.values;
      const total = values.reduce((a, b) => a + (b ?? 0), 0);
      return {
        label: stack.series[i]!.label,
        stroke: COLORS[i % COLORS.length]!,
        fill: `${COLORS[i % COLORS.length]!}cc`,
        width: 1,
        paths: bars,
        points: { show: false },
        // The legend: the range's total until the pointer picks a bucket, then that bucket's.
        value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) =>
          format(idx === null ? total : (values[idx] ?? 0)),
      };
    }),
  ];
  requestAnimationFrame(() =>
    sized(
      box,
      (width) =>
        new uPlot(
          {
            width,
            height: 220,
            series,
            axes: [{}, { values: (_u, vals) => vals.map((v) => format(v)), size: 70 }],
            // From 0, and to 1 when every value is 0 (not a 0-100 axis of nothing).
            scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
            legend: { live: true },
            cursor: { drag: { x: false, y: false } },
          },
          data,
          box,
        ),
    ),
  );
  return figure;
}

/**
 * The last minute, a second at a time, on the server's clock. Made once; `update` gives it the next
 * poll's numbers in place (uPlot's setData), so the chart is not rebuilt every two seconds.
 */
export function minuteChart(title: string): {
  element: HTMLElement;
  update(time: number, values: number[], errors: number[]): void;
} {
  const box = h('div', { class: 'chart', 'data-chart': title });
  let data: uPlot.AlignedData | undefined;
  let plot: uPlot | undefined;
  const series: uPlot.Series[] = [
    {},
    { label: 'requests/s', stroke: COLORS[0]!, fill: `${COLORS[0]!}33` },
    { label: 'errors/s', stroke: '#c0392b' },
  ];
  const make = () =>
    sized(
      box,
      (width) =>
        new uPlot(
          { width, height: 160, series, axes: [{}, { size: 50 }], cursor: { drag: { x: false, y: false } } },
          data!,
          box,
        ),
    );
  return {
    element: h('figure', { class: 'card chart-card' }, h('figcaption', {}, title), box),
    update(time, values, errors) {
      data = minuteData(time, values, errors);
      if (plot) plot.setData(data);
      else requestAnimationFrame(() => void (plot ??= make()));
    },
  };
}

/** Disposes the charts inside an element that is about to be replaced. */
export function disposeCharts(root: Element): void {
  for (const c of root.querySelectorAll('.chart')) c.dispatchEvent(new Event('bc-dispose'));
}
