// The topology: the gateway and its dependencies, each edge hard or soft, each node's live health.
//
// The diagram is drawn in SVG for the eye; the list under it says the same in words, for everyone
// and for screen readers (the SVG itself is hidden from them).

import { h, svg } from "./dom.js";

const STATUS_WORDS = { up: "up", degraded: "degraded", down: "down", breaker_open: "breaker open" };
const GATEWAY_BOX = { x: 4, y: 76, width: 120, height: 46 };
const RIGHT_X = 300;
const NODE_WIDTH = 136;
const NODE_HEIGHT = 46;
const ROW_Y = { cart: 2, pricing: 52, email: 102, redis: 152 };

/** How an edge behaves now: a soft edge guarded by a flag is hard for users who have the flag off. */
export function edgeMode(edge, flags) {
  const flag = edge.guard ? (flags || []).find((candidate) => candidate.key === edge.guard) : null;
  if (!flag) return { kind: edge.kind, label: edge.kind, note: "" };
  if (flag.state === "DISABLED") return { kind: "hard", label: "hard", note: `${flag.key} is killed` };
  if (flag.state === "MISSING") {
    if (flag.default) return { kind: "soft", label: "soft", note: "" };
    return { kind: "hard", label: "hard", note: `${flag.key} is missing` };
  }
  const rollout = flag.rollout;
  if (!rollout) return { kind: edge.kind, label: edge.kind, note: `${flag.key} has custom targeting` };
  if (rollout.percent === 100) return { kind: "soft", label: "soft", note: "" };
  if (rollout.percent === 0 && !rollout.employees && rollout.users.length === 0) {
    return { kind: "hard", label: "hard", note: `${flag.key} is off` };
  }
  return { kind: "mixed", label: `soft ${rollout.percent}%`, note: `soft only where ${flag.key} is on: ${flag.summary}` };
}

function edgeLine(edge, mode) {
  const row = ROW_Y[edge.to];
  const from = { x: GATEWAY_BOX.x + GATEWAY_BOX.width, y: GATEWAY_BOX.y + GATEWAY_BOX.height / 2 };
  const to = { x: RIGHT_X, y: row + NODE_HEIGHT / 2 };
  const label = { x: from.x + (to.x - from.x) * 0.58, y: from.y + (to.y - from.y) * 0.58 };
  const width = mode.label.length * 6.4 + 10;
  return svg(
    "g",
    { class: `edge edge-${mode.kind}` },
    svg("line", { x1: from.x, y1: from.y, x2: to.x, y2: to.y }),
    svg("rect", { class: "edge-label", x: label.x - width / 2, y: label.y - 8, width, height: 16, rx: 3 }),
    svg("text", { x: label.x, y: label.y + 4, "text-anchor": "middle" }, mode.label),
  );
}

function replicaDots(node, box) {
  return node.replicas.map((replica, index) =>
    svg("circle", {
      class: replica.up ? "dot dot-up" : "dot dot-down",
      cx: box.x + box.width - 10 - index * 13,
      cy: box.y + 13,
      r: 4.5,
    }),
  );
}

function nodeBox(node, box) {
  const faults = node.faults ? `${node.faults} fault rule${node.faults > 1 ? "s" : ""}` : "";
  const up = node.replicas.filter((replica) => replica.up).length;
  const releases = [...new Set(node.replicas.map((replica) => replica.release).filter(Boolean))];
  const replicas = [
    node.replicas.length > 1 ? `${up}/${node.replicas.length} replicas` : "",
    releases.length ? `v${releases.join("+")}` : "",
  ].filter(Boolean).join(" ");
  return svg(
    "g",
    { class: `node node-${node.status}`, "data-node": node.name },
    svg("rect", { x: box.x, y: box.y, width: box.width, height: box.height, rx: 6 }),
    svg("text", { class: "node-name", x: box.x + 8, y: box.y + 15 }, node.name),
    svg("text", { class: "node-status", x: box.x + 8, y: box.y + 29 }, STATUS_WORDS[node.status] || node.status),
    svg("text", { class: "node-extra", x: box.x + 8, y: box.y + 41 }, [replicas, faults].filter(Boolean).join(" · ")),
    ...replicaDots(node, box),
  );
}

function boxOf(name) {
  if (name === "gateway") return GATEWAY_BOX;
  return { x: RIGHT_X, y: ROW_Y[name] ?? 0, width: NODE_WIDTH, height: NODE_HEIGHT };
}

/** Redraw the diagram and the list from GET /overview and the flags (for soft edges guarded by a flag). */
export function renderTopology({ map, list, explained }, overview, flags) {
  const edges = overview.edges.map((edge) => ({ edge, mode: edgeMode(edge, flags) }));
  const boxes = overview.nodes.map((node) =>
    nodeBox(node, boxOf(node.name)),
  );
  map.replaceChildren(...edges.map(({ edge, mode }) => edgeLine(edge, mode)), ...boxes);
  list.replaceChildren(
    ...overview.nodes.map((node) => {
      const link = edges.find(({ edge }) => edge.to === node.name);
      const release = (r) => (r.release ? ` on ${r.release}` : "");
      const replicas = node.replicas.length > 1
        ? ` Replicas: ${node.replicas.map((r) => `${r.replica}${release(r)} ${r.up ? "up" : "down"}`).join(", ")}.`
        : node.replicas[0]?.release ? ` Release ${node.replicas[0].release}.` : "";
      const faults = node.faults ? ` ${node.faults} fault rule${node.faults > 1 ? "s" : ""}.` : "";
      const words = link && (link.mode.kind === "mixed" ? link.mode.label : link.mode.kind);
      const kind = link ? h("span", { class: "hint" }, ` (${words})`) : null;
      return h(
        "li",
        { "data-node": node.name, "data-status": node.status },
        h("strong", {}, node.name),
        kind,
        " ",
        h("span", { class: `badge badge-${node.status}` }, STATUS_WORDS[node.status] || node.status),
        ` ${node.detail}.${replicas}${faults}`,
      );
    }),
  );
  explained.replaceChildren(...edges.map(({ edge, mode }) => explainEdge(edge, mode)));
}

/** What a failure of one dependency does now, in the column of the checkout table the live flag serves. */
export function explainEdge(edge, mode) {
  const column = (row) => {
    if (mode.kind === "hard") return row.off;
    if (mode.kind === "mixed" && row.on !== row.off) return `where the flag is on, ${row.on}; elsewhere, ${row.off}`;
    return row.on;
  };
  const steps = (edge.steps || []).map((row) => h("li", { "data-step": row.step }, `step ${row.step}, ${row.call}: ${column(row)}`));
  return h(
    "li",
    { "data-edge": edge.to, "data-mode": mode.kind },
    h("strong", {}, `${edge.to}: ${mode.kind === "hard" ? "hard" : mode.kind === "mixed" ? mode.label : "soft"}.`),
    steps.length ? ` If it fails:${mode.note ? ` (now ${mode.note})` : ""}` : ` If it fails: ${edge.fallback}.`,
    steps.length ? h("ul", { class: "steps" }, ...steps) : null,
  );
}
