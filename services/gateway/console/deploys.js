// The deploy panel: start a deploy or a rollback, stop one, and follow the current deploy's steps and gate.
// The lab's supervisor runs it (as for `purchase deploy`); this panel reads the same state every second.

import { admin } from "./api.js";
import { act, byId, clock, h, say } from "./dom.js";

const STEPS_SHOWN = 8;

export class DeployControls {
  constructor(refresh) {
    this.refresh = refresh;
    this.message = byId("deploy-message");
    byId("deploy-form").addEventListener("submit", (event) => {
      event.preventDefault();
      act(event.submitter, this.message, async () => {
        const form = new FormData(byId("deploy-form"));
        const body = {
          service: form.get("service"),
          version: String(form.get("version")).trim(),
          strategy: form.get("strategy"),
          window: Number(form.get("window")),
          weight: Number(form.get("weight")),
        };
        await admin("POST", "/deploys", body);
        await this.refresh();
        return `Deploy of ${body.service} ${body.version} (${body.strategy}) started.`;
      });
    });
    byId("deploy-rollback").addEventListener("click", (event) =>
      act(event.currentTarget, this.message, async () => {
        const service = byId("deploy-service").value;
        await admin("POST", "/rollbacks", { service });
        await this.refresh();
        return `Rollback of ${service} started.`;
      }),
    );
    byId("deploy-stop").addEventListener("click", (event) =>
      act(event.currentTarget, this.message, async () => (await admin("POST", "/deploys/stop")).message),
    );
  }

  /** Draw GET /deploys: the deploy's headline, its last steps, and the last gate's verdict. */
  render({ deploy }) {
    const state = byId("deploy-state");
    if (!deploy) {
      state.replaceChildren(h("p", { class: "hint" }, "No deploy has run in this lab yet."));
      return;
    }
    const running = !["succeeded", "failed", "aborted", "interrupted"].includes(deploy.phase);
    byId("deploy-stop").disabled = !running;
    const steps = deploy.events.slice(-STEPS_SHOWN).map((event) =>
      h("li", {}, h("span", { class: "hint" }, `${clock(event.time)} `), event.message),
    );
    const gate = deploy.gate
      ? h("p", { "data-gate": deploy.gate.verdict }, `Last gate: ${deploy.gate.verdict}.`)
      : null;
    state.replaceChildren(
      h(
        "p",
        { "data-phase": deploy.phase },
        h("strong", {}, `${deploy.service} ${deploy.from} → ${deploy.version}`),
        ` (${deploy.strategy}): `,
        h("span", { class: `badge badge-${running ? "degraded" : deploy.phase === "succeeded" ? "up" : "down"}` }, deploy.phase),
      ),
      gate,
      h("ol", { class: "deploy-steps" }, steps),
    );
  }

  showError(error) {
    say(this.message, `Deploy state unavailable: ${error.message}`, "error");
  }
}
