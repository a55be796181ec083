// The flag controls, one card per flag: on, off, employees only, a ramp slider, one more user, kill.
// Each button takes the same rollout step as `purchase flag ...`, on the same live flags file.

import { admin } from "./api.js";
import { act, byId, h } from "./dom.js";

const RAMP_DELAY_MS = 400;

/** Words for screen readers only: which flag a control belongs to. */
function hidden(text) {
  return h("span", { class: "visually-hidden" }, ` ${text}`);
}

export class FlagControls {
  constructor(refresh) {
    this.refresh = refresh;
    this.message = byId("flags-message");
    this.cards = new Map();
  }

  change(button, key, path, body, done) {
    return act(button, this.message, async () => {
      const flag = await admin(path.method, `/flags/${encodeURIComponent(key)}${path.suffix}`, body);
      await this.refresh();
      return `${key}: ${done}. Now ${flag.summary}.`;
    });
  }

  card(flag) {
    const key = flag.key;
    const id = key.replace(/[^a-z0-9]/gi, "-");
    const slider = h("input", {
      type: "range",
      id: `ramp-${id}`,
      min: 0,
      max: 100,
      step: 1,
      value: 0,
      "aria-describedby": `ramp-out-${id}`,
    });
    const output = h("output", { id: `ramp-out-${id}`, for: `ramp-${id}` }, "0%");
    const user = h("input", { id: `user-${id}`, spellcheck: "false", maxlength: 128, placeholder: "u-42" });
    const summary = h("p", { class: "flag-summary", id: `summary-${id}` });
    // From the first move until the ramp is saved, polling must not pull the slider from under the user.
    let timer = null;
    let saving = false;
    slider.addEventListener("input", () => {
      output.value = `${slider.value}%`;
      clearTimeout(timer);
      timer = setTimeout(async () => {
        timer = null;
        saving = true;
        const percent = Number(slider.value);
        await this.change(null, key, { method: "PUT", suffix: "/ramp" }, { percent }, `ramped to ${percent}%`);
        saving = false;
      }, RAMP_DELAY_MS);
    });
    const button = (label, path, body, done, cls) => {
      const onclick = (event) => this.change(event.currentTarget, key, path, body, done);
      return h("button", { type: "button", class: cls, onclick }, label);
    };
    const card = h(
      "fieldset",
      { class: "flag", "data-flag": key },
      h("legend", {}, h("code", {}, key)),
      h("p", { class: "hint flag-description" }, flag.description),
      summary,
      h(
        "div",
        { class: "inline wrap" },
        button("On", { method: "PUT", suffix: "" }, { value: "on" }, "on for everyone"),
        button("Off", { method: "PUT", suffix: "" }, { value: "off" }, "off for everyone"),
        button("Employees only", { method: "PUT", suffix: "/employees" }, undefined, "on for employees only"),
        button("Kill", { method: "POST", suffix: "/kill" }, undefined, "killed", "danger"),
      ),
      h("div", { class: "inline" }, h("label", { for: slider.id }, "Ramp", hidden(key)), slider, output),
      h(
        "form",
        {
          class: "inline",
          novalidate: true,
          onsubmit: (event) => {
            event.preventDefault();
            const userId = user.value.trim();
            this.change(event.submitter, key, { method: "POST", suffix: "/users" }, { user_id: userId }, `on for user ${userId}`);
          },
        },
        h("label", { for: user.id }, "Add user", hidden(`to ${key}`)),
        user,
        h("button", { type: "submit" }, "Add"),
      ),
    );
    return { card, slider, output, summary, isEditing: () => timer !== null || saving || slider.matches(":active") };
  }

  /** Show every flag from GET /flags; a slider being moved keeps the value under the user's hand. */
  render({ flags }) {
    const container = byId("flags");
    for (const flag of flags) {
      if (!this.cards.has(flag.key)) {
        const made = this.card(flag);
        this.cards.set(flag.key, made);
        container.append(made.card);
      }
      const { card, slider, output, summary, isEditing } = this.cards.get(flag.key);
      summary.textContent = flag.state === "DISABLED" ? `Killed: ${flag.summary.replace(/^killed: /, "")}` : `Now: ${flag.summary}`;
      card.dataset.state = flag.state;
      const percent = flag.state === "DISABLED" || !flag.rollout ? 0 : flag.rollout.percent;
      card.dataset.percent = String(percent);
      if (!isEditing()) {
        slider.value = String(percent);
        output.value = `${percent}%`;
      }
    }
  }
}
