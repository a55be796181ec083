// The console's four charts: traffic, errors, fallbacks, and one flag's ramp against its funnel.

import { FUNNEL_S, LineChart, RATE_S, percent, perSecond } from "./charts.js";
import { byId, h } from "./dom.js";

const SERVICES = ["gateway", "cart", "pricing", "email"];
const SOFT = ["pricing", "email"];
const FUNNEL_COLUMNS = ["variant", "exposed", "succeeded", "failed", "error rate"];

function zeros(count) {
  return new Array(count).fill(0);
}

function requests(series, name, count) {
  return series[name === "gateway" ? "gateway:requests" : `dep:${name}:checkouts`] || zeros(count);
}

function errors(series, name, count) {
  return series[name === "gateway" ? "gateway:errors" : `dep:${name}:failed`] || zeros(count);
}

function sum(values) {
  return (values || []).reduce((total, value) => total + value, 0);
}

export class Dashboard {
  constructor(container) {
    this.flagKey = null;
    this.flagSelect = h("select", { id: "chart-flag", onchange: () => this.redraw() });
    const flagLabel = h("label", { for: "chart-flag", class: "hint" }, "Flag ");
    const lines = (make) => SERVICES.map((name) => ({ key: name, label: name, cls: `s-${name}`, ...make(name) }));
    this.traffic = new LineChart(container, {
      id: "chart-requests",
      title: "Requests per second",
      note: "cart, pricing, email: as checkouts reach them",
      unit: "/s",
      lines: lines(() => ({})),
    });
    this.errors = new LineChart(container, {
      id: "chart-errors",
      title: "Error rate",
      note: `per service, over ${RATE_S} s`,
      unit: "%",
      fixedMax: 100,
      lines: lines(() => ({})),
    });
    this.fallbacks = new LineChart(container, {
      id: "chart-fallbacks",
      title: "Fallback rate",
      note: "checkouts where a soft dependency failed and its fallback ran",
      unit: "%",
      fixedMax: 100,
      lines: SOFT.map((name) => ({ key: name, label: name, cls: `s-${name}` })),
    });
    this.funnel = h("table", { class: "data funnel", id: "funnel" });
    this.flag = new LineChart(container, {
      id: "chart-flag-ramp",
      title: "Flag ramp",
      note: `against its funnel and error rate, over ${FUNNEL_S} s`,
      unit: "%",
      fixedMax: 100,
      extra: h("div", { class: "inline" }, flagLabel, this.flagSelect),
      lines: [
        { key: "ramp", label: "ramp", cls: "s-ramp" },
        { key: "exposed", label: "checkouts on", cls: "s-exposed" },
        { key: "errorsOn", label: "errors (on)", cls: "s-errors-on" },
        { key: "errorsOff", label: "errors (off)", cls: "s-errors-off" },
      ],
    });
    this.flag.figure.append(this.funnel);
    this.stats = null;
  }

  /** Draw a new GET /stats answer. */
  update(stats) {
    this.stats = stats;
    const keys = stats.flags.map((flag) => flag.key);
    if (keys.join() !== Array.from(this.flagSelect.options, (option) => option.value).join()) {
      this.flagSelect.replaceChildren(...keys.map((key) => h("option", { value: key }, key)));
    }
    if (this.flagKey && keys.includes(this.flagKey)) this.flagSelect.value = this.flagKey;
    this.redraw();
  }

  redraw() {
    if (!this.stats) return;
    const { series, points } = this.stats;
    const byService = (make) => Object.fromEntries(SERVICES.map((name) => [name, make(name)]));
    this.traffic.update(byService((name) => perSecond(requests(series, name, points))), points);
    this.errors.update(byService((name) => percent(errors(series, name, points), requests(series, name, points))), points);
    this.fallbacks.update(
      Object.fromEntries(
        SOFT.map((name) => [name, percent(series[`fallback:${name}`] || zeros(points), requests(series, name, points))]),
      ),
      points,
    );
    this.flagKey = this.flagSelect.value;
    this.drawFlag(this.flagKey, series, points);
  }

  drawFlag(key, series, points) {
    const counter = (name) => series[`flag:${key}:${name}`] || zeros(points);
    const ramp = series[`ramp:${key}`] || new Array(points).fill(null);
    this.flag.update(
      {
        ramp,
        exposed: percent(counter("on:exposed"), counter("eligible"), FUNNEL_S),
        errorsOn: percent(counter("on:failed"), counter("on:exposed"), FUNNEL_S),
        errorsOff: percent(counter("off:failed"), counter("off:exposed"), FUNNEL_S),
      },
      points,
    );
    const now = this.stats.flags.find((flag) => flag.key === key);
    this.flag.figure.dataset.flag = key || "";
    this.flag.figure.dataset.ramp = now && now.percent !== null ? String(now.percent) : "";
    this.renderFunnel(counter, now);
  }

  renderFunnel(counter, now) {
    const eligible = sum(counter("eligible"));
    const row = (variant) => {
      const exposed = sum(counter(`${variant}:exposed`));
      const failed = sum(counter(`${variant}:failed`));
      return h(
        "tr",
        {},
        h("th", { scope: "row" }, variant),
        h("td", {}, `${exposed}${eligible ? ` (${Math.round((100 * exposed) / eligible)}%)` : ""}`),
        h("td", {}, String(sum(counter(`${variant}:succeeded`)))),
        h("td", {}, String(failed)),
        h("td", {}, exposed ? `${Math.round((100 * failed) / exposed)}%` : "–"),
      );
    };
    this.funnel.replaceChildren(
      h("caption", {}, `Funnel over the window: ${eligible} checkouts evaluated the flag. Now: ${now ? now.summary : "unknown"}`),
      h("thead", {}, h("tr", {}, ...FUNNEL_COLUMNS.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, row("on"), row("off")),
    );
  }
}

/** The window the charts show, in seconds, from the page's select. */
export function chartWindow() {
  return Number(byId("window").value) || 300;
}
