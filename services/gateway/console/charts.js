// Live line charts in plain SVG, fed by GET /api/v1/admin/stats (per-second counters from Redis).
//
// Rates are taken over a sliding window (RATE_S seconds; FUNNEL_S for the flag's funnel), so that a
// single request does not draw a spike. Every chart has a text summary of its latest values.

import { h, svg } from "./dom.js";

export const RATE_S = 10;
export const FUNNEL_S = 30;
const WIDTH = 440;
const HEIGHT = 84;
const PLOT = { left: 34, right: 8, top: 5, bottom: 14 };

function windowSum(values, index, span) {
  let total = 0;
  for (let i = Math.max(0, index - span + 1); i <= index; i += 1) total += values[i] || 0;
  return total;
}

/** Per-second rate of a counter, over a sliding window. */
export function perSecond(values, span = RATE_S) {
  return values.map((_, index) => windowSum(values, index, span) / Math.min(span, index + 1));
}

/** 100 * part / whole over a sliding window; null where whole is 0 (nothing to divide). */
export function percent(part, whole, span = RATE_S) {
  return whole.map((_, index) => {
    const denominator = windowSum(whole, index, span);
    return denominator ? (100 * windowSum(part, index, span)) / denominator : null;
  });
}

function niceMax(values) {
  const top = Math.max(0, ...values.filter((value) => value !== null));
  return [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000].find((step) => top <= step) || top;
}

function format(value, unit) {
  if (value === null || value === undefined) return "–";
  return unit === "%" ? `${Math.round(value)}%` : `${value.toFixed(value < 10 ? 1 : 0)}/s`;
}

/** A line chart: one polyline per series, y from 0 to a round maximum (or a fixed one), x over the window. */
export class LineChart {
  constructor(parent, { id, title, note, unit, fixedMax, lines, extra }) {
    this.unit = unit;
    this.fixedMax = fixedMax;
    this.lines = lines;
    this.plot = svg("g", { class: "plot" });
    this.grid = svg("g", { class: "grid" });
    this.image = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": title }, this.grid, this.plot);
    this.title = title;
    this.legend = h("ul", { class: "legend-list", "aria-label": `${title}, now` });
    this.figure = h(
      "figure",
      { class: "chart", id },
      h("figcaption", {}, h("h3", {}, title), note ? h("span", { class: "hint" }, note) : null, extra || null),
      this.image,
      this.legend,
    );
    parent.append(this.figure);
  }

  /** Draw `data` (series key -> values, one per second) for a window of `seconds`. */
  update(data, seconds) {
    const all = this.lines.flatMap((line) => data[line.key] || []);
    const max = this.fixedMax ?? niceMax(all);
    const width = WIDTH - PLOT.left - PLOT.right;
    const height = HEIGHT - PLOT.top - PLOT.bottom;
    const x = (index, count) => PLOT.left + (count > 1 ? (index * width) / (count - 1) : width);
    const y = (value) => PLOT.top + height - (Math.min(value, max) / max) * height;
    this.grid.replaceChildren(
      ...[0, max / 2, max].flatMap((value) => [
        svg("line", { x1: PLOT.left, x2: WIDTH - PLOT.right, y1: y(value), y2: y(value) }),
        svg("text", { x: PLOT.left - 4, y: y(value) + 4, "text-anchor": "end" }, format(value, this.unit)),
      ]),
      svg("text", { x: PLOT.left, y: HEIGHT - 3 }, `-${Math.round(seconds / 60)} min`),
      svg("text", { x: WIDTH - PLOT.right, y: HEIGHT - 3, "text-anchor": "end" }, "now"),
    );
    this.plot.replaceChildren(
      ...this.lines.flatMap((line) => {
        const values = data[line.key] || [];
        return segments(values).map((segment) =>
          svg("polyline", {
            class: `series ${line.cls}`,
            "data-series": line.key,
            points: segment.map(([index, value]) => `${x(index, values.length).toFixed(1)},${y(value).toFixed(1)}`).join(" "),
          }),
        );
      }),
    );
    const latest = this.lines.map((line) => `${line.label} ${format(lastValue(data[line.key] || []), this.unit)}`);
    const minutes = Math.round(seconds / 60);
    this.image.setAttribute("aria-label", `${this.title} over the last ${minutes} minutes. Now: ${latest.join(", ")}`);
    this.legend.replaceChildren(
      ...this.lines.map((line, index) =>
        h("li", {}, h("span", { class: `swatch ${line.cls}`, "aria-hidden": "true" }), latest[index]),
      ),
    );
  }
}

function lastValue(values) {
  for (let index = values.length - 1; index >= 0; index -= 1) if (values[index] !== null) return values[index];
  return null;
}

function segments(values) {
  const found = [];
  let current = [];
  values.forEach((value, index) => {
    if (value === null || value === undefined) {
      if (current.length) found.push(current);
      current = [];
    } else {
      current.push([index, value]);
    }
  });
  if (current.length) found.push(current);
  return found.map((segment) => (segment.length === 1 ? [segment[0], segment[0]] : segment));
}
