// A small SVG bar chart: added p50 latency (concurrency 1) and throughput (concurrency 64) per target.
export function chartSvg(rows) {
  const byTarget = (setting) => rows.filter((r) => r.setting === setting);
  const lat = byTarget('small request, concurrency 1').filter((r) => r.target !== 'direct');
  const thr = byTarget('small request, concurrency 64');
  const colours = {
    direct: '#888',
    floor: '#4a7',
    'ours (Anthropic front)': '#36c',
    'ours (Bedrock front)': '#59e',
    'peer (Portkey 1.15.2)': '#c63',
  };
  const W = 760;
  const barH = 22;
  const panel = (title, items, value, unit, x0, y0, w) => {
    const max = Math.max(...items.map(value), 1e-9);
    const bars = items.map((r, i) => {
      const v = value(r);
      const len = Math.max(1, (v / max) * (w - 170));
      const y = y0 + 28 + i * (barH + 8);
      return `<text x="${x0}" y="${y + 15}" font-size="12">${r.target}</text><rect x="${x0 + 160}" y="${y}" width="${len.toFixed(1)}" height="${barH}" fill="${colours[r.target] ?? '#999'}"/><text x="${x0 + 165 + len}" y="${y + 15}" font-size="12">${v.toFixed(unit === 'req/s' ? 0 : 2)} ${unit}</text>`;
    });
    return `<text x="${x0}" y="${y0 + 14}" font-size="14" font-weight="bold">${title}</text>${bars.join('')}`;
  };
  const h1 = 40 + lat.length * (barH + 8);
  const h2 = 40 + thr.length * (barH + 8);
  const H = h1 + h2 + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panel('Added p50 latency over a direct call (small request, concurrency 1) — lower is better', lat, (r) => Math.max(0, r.addedP50 ?? 0), 'ms', 10, 10, W - 20)}
${panel('Throughput (small request, concurrency 64) — higher is better', thr, (r) => r.rps ?? 0, 'req/s', 10, h1 + 20, W - 20)}
</svg>
`;
}
