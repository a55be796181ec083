// The fault controls: named scenarios, a form for one rule, the active rules, and clearing them.
// Every change goes through the admin API, which edits the same live faults.json as `purchase fault`.

import { admin } from "./api.js";
import { act, byId, h, say } from "./dom.js";

const RULE_NUMBERS = new Set(["latency_ms", "rate", "replica", "ttl_s"]);

function effect(rule) {
  const parts = [];
  if (rule.error !== undefined && rule.error !== null) parts.push(String(rule.error));
  if (rule.latency_ms) parts.push(`+${rule.latency_ms}${rule.jitter_ms ? `–${rule.latency_ms + rule.jitter_ms}` : ""} ms`);
  if (rule.rate !== undefined && rule.rate < 1) parts.push(`${Math.round(rule.rate * 100)}% of calls`);
  return parts.join(", ");
}

function target(rule) {
  const where = `${rule.service}${rule.side === "client" ? " (gateway side)" : ""}${rule.method ? `.${rule.method}` : ""}`;
  return where;
}

function audience(rule) {
  const parts = [];
  if (rule.replica) parts.push(`replica ${rule.replica}`);
  if (rule.user) parts.push(`user ${rule.user}`);
  if (rule.sku) parts.push(`SKU ${rule.sku}`);
  if (rule.promo) parts.push(`promo ${rule.promo}`);
  return parts.join(", ") || "everyone";
}

export class FaultControls {
  constructor(refresh) {
    this.refresh = refresh;
    this.message = byId("faults-message");
    this.scenarios = [];
    byId("scenario").addEventListener("change", () => this.describeScenario());
    byId("scenario-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const name = byId("scenario").value;
      act(event.submitter, this.message, async () => {
        const applied = await admin("POST", `/scenarios/${encodeURIComponent(name)}`);
        await this.refresh();
        return `Scenario ${name} applied: ${applied.does}`;
      });
    });
    byId("rule-form").addEventListener("submit", (event) => {
      event.preventDefault();
      act(event.submitter, this.message, async () => {
        const added = await admin("POST", "/faults", this.ruleFromForm());
        await this.refresh();
        return `Added ${added.fault.id}: ${target(added.fault)} ${effect(added.fault)}`;
      });
    });
    byId("rule-service").addEventListener("change", () => this.offerMethods());
    byId("clear-faults").addEventListener("click", (event) =>
      act(event.currentTarget, this.message, async () => {
        const cleared = await admin("DELETE", "/faults");
        await this.refresh();
        return `Cleared ${cleared.removed.length} fault rule${cleared.removed.length === 1 ? "" : "s"}.`;
      }),
    );
  }

  /** Fill the scenario list and the rule form's suggestions (once, after login). */
  async load(options) {
    this.options = options;
    const { scenarios } = await admin("GET", "/scenarios");
    this.scenarios = scenarios;
    byId("scenario").replaceChildren(
      ...scenarios.map((scenario) => h("option", { value: scenario.name }, `${scenario.name}: ${scenario.title}`)),
    );
    byId("rule-errors").replaceChildren(...options.errors.map((error) => h("option", { value: error })));
    this.describeScenario();
    this.offerMethods();
  }

  describeScenario() {
    const scenario = this.scenarios.find((candidate) => candidate.name === byId("scenario").value);
    byId("scenario-does").textContent = scenario ? scenario.does : "";
    byId("scenario-sees").textContent = scenario ? scenario.student_sees : "";
  }

  offerMethods() {
    const methods = (this.options?.methods || {})[byId("rule-service").value] || [];
    byId("rule-methods").replaceChildren(...methods.map((method) => h("option", { value: method })));
  }

  ruleFromForm() {
    const rule = {};
    for (const [name, value] of new FormData(byId("rule-form"))) {
      const text = String(value).trim();
      if (text) rule[name] = RULE_NUMBERS.has(name) ? Number(text) : text;
    }
    return rule;
  }

  /** Show the active rules from GET /faults. */
  render({ faults }) {
    // A scenario's message outlives its rules only until they are gone (cleared, expired, or reset from the CLI).
    if (!faults.length && this.message.textContent.startsWith("Scenario ")) say(this.message, "");
    const rows = faults.map((rule) =>
      h(
        "tr",
        { "data-rule": rule.id },
        h("td", {}, h("code", {}, rule.id), " ", target(rule)),
        h("td", {}, effect(rule)),
        h("td", {}, audience(rule)),
        h("td", {}, `${rule.expires_in_s} s`),
        h(
          "td",
          {},
          h(
            "button",
            {
              type: "button",
              "aria-label": `Remove fault ${rule.id}`,
              onclick: (event) =>
                act(event.currentTarget, this.message, async () => {
                  await admin("DELETE", `/faults/${encodeURIComponent(rule.id)}`);
                  await this.refresh();
                  return `Removed ${rule.id}.`;
                }),
            },
            "Remove",
          ),
        ),
      ),
    );
    if (!rows.length) {
      rows.push(h("tr", {}, h("td", { colspan: 5, class: "hint" }, "No faults: every call is served normally.")));
    }
    byId("rules").tBodies[0].replaceChildren(...rows);
  }

  showError(error) {
    say(this.message, `Cannot list faults: ${error.message}`, "error");
  }
}
