/**
 * @module Time-series plots on uPlot: a Preact component that sizes itself to its container,
 * updates its data in place, fixes the x range to the query's, and draws markers (the scaling
 * decisions) as dashed vertical lines with a triangle on top.
 */
/* global ResizeObserver */
import uPlot from 'uplot';
import { html, useEffect, useRef } from './ui.js';

export const COLORS = ['#2f6fd6', '#d9822b', '#1f8a4c', '#8e44ad', '#c53030', '#0f7c8c', '#7a6f00', '#5f6b7a'];
const MARKER_COLORS = { up: '#1f8a4c', down: '#d9822b', other: '#8e44ad', refused: '#c53030' };

/** Aligns sparse series `[{ t, ...values }]` on one x axis (seconds): [xs, ...ys] with nulls in gaps. */
export function align(rows, fields) {
  const xs = [...new Set(rows.map((r) => r.t))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = fields.map(() => xs.map(() => null));
  for (const r of rows) {
    const i = at.get(r.t);
    fields.forEach((f, k) => {
      const v = typeof f === 'function' ? f(r) : r[f];
      if (v !== undefined && v !== null) ys[k][i] = v;
    });
  }
  return [xs.map((x) => x / 1000), ...ys];
}

/** The colour of a decision marker: scale-out green, scale-in orange, refusals red. */
export function markerColor(d) {
  if (d.outcome === 'refused' || d.outcome === 'failed' || d.outcome === 'rejected') return MARKER_COLORS.refused;
  if (d.from !== null && d.to !== null) return d.to > d.from ? MARKER_COLORS.up : MARKER_COLORS.down;
  return MARKER_COLORS.other;
}

function drawMarkers(u, markers) {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  for (const m of markers) {
    const x = Math.round(u.valToPos(m.t / 1000, 'x', true));
    if (x < left || x > left + width) continue;
    ctx.save();
    ctx.strokeStyle = m.color;
    ctx.fillStyle = m.color;
    ctx.lineWidth = 1.5 * devicePixelRatioOf();
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.setLineDash([]);
    const s = 6 * devicePixelRatioOf();
    ctx.beginPath();
    ctx.moveTo(x - s, top);
    ctx.lineTo(x + s, top);
    ctx.lineTo(x, top + s * 1.4);
    ctx.closePath();
    ctx.fill();
    ctx.restore();
  }
}

const devicePixelRatioOf = () => globalThis.devicePixelRatio ?? 1;

/**
 * series: [{ label, scale?: 'y' | 'y2', color?, value?: (v) => string }]; data: [xs, ...ys];
 * range: [fromMs, toMs]; markers: [{ t, color }]; axes: { y: label, y2: label }.
 */
export function TimePlot({ testid, series, data, range, markers = [], axes = {}, height = 190 }) {
  const box = useRef(null);
  const plot = useRef(null);
  const latest = useRef({ markers, range });
  latest.current = { markers, range };
  const shape = series.map((s) => `${s.label}:${s.scale ?? 'y'}`).join('|');

  useEffect(() => {
    const el = box.current;
    const hasY2 = series.some((s) => s.scale === 'y2');
    const opts = {
      width: Math.max(300, el.clientWidth),
      height,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => {
            const r = latest.current.range;
            return r ? [r[0] / 1000, r[1] / 1000] : [min, max];
          },
        },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        ...(hasY2 ? { y2: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } } : {}),
      },
      axes: [
        {},
        { label: axes.y, size: 52 },
        ...(hasY2 ? [{ side: 1, scale: 'y2', label: axes.y2, size: 52, grid: { show: false } }] : []),
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          scale: s.scale ?? 'y',
          stroke: s.color ?? COLORS[i % COLORS.length],
          width: 1.6,
          spanGaps: false,
          points: { show: false },
          ...(s.value ? { value: (_u, v) => (v === null || v === undefined ? '—' : s.value(v)) } : {}),
          ...(s.step ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
        })),
      ],
      hooks: { draw: [(u) => drawMarkers(u, latest.current.markers)] },
    };
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(300, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data, markers, range?.[0], range?.[1]]);

  const points = data[0]?.length ?? 0;
  return html`<div
    class="plot"
    ref=${box}
    data-testid=${testid}
    data-points=${points}
    data-markers=${markers.length}
  ></div>`;
}
