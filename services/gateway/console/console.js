// The ops console: log in with the admin token, then show and steer the running lab, live.
//
// Nothing is fetched before login, and the admin API refuses every call without the token anyway.
// Once in, every panel is polled each second; a 401 at any time logs out and reloads the page, so
// no data stays on screen.

import { Unauthorized, admin, session, whenTokenRefused } from "./api.js";
import { TryIt, renderCheckouts, renderOutbox } from "./activity.js";
import { Dashboard, chartWindow } from "./dashboard.js";
import { DeployControls } from "./deploys.js";
import { act, byId, clock, say } from "./dom.js";
import { FaultControls } from "./faults.js";
import { FlagControls } from "./flags.js";
import { renderTopology } from "./topology.js";

const POLL_MS = 1000;
const MESSAGE_KEY = "purchase-lab-login-message";

class OpsConsole {
  constructor() {
    this.started = false;
    this.polling = null;
    this.flags = null;
    this.dashboard = new Dashboard(byId("charts"));
    this.topology = { map: byId("topology-map"), list: byId("node-list"), explained: byId("edge-list") };
    this.faults = new FaultControls(() => this.refresh());
    this.flagControls = new FlagControls(() => this.refresh());
    this.tryIt = new TryIt();
    this.deploys = new DeployControls(() => this.refresh());
    whenTokenRefused((message) => this.refused(message));
    byId("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.login(byId("token").value.trim());
    });
    byId("logout").addEventListener("click", () => this.logout("You are logged out."));
    byId("reset-lab").addEventListener("click", () => byId("reset-dialog").showModal());
    byId("reset-cancel").addEventListener("click", () => byId("reset-dialog").close());
    byId("reset-confirm").addEventListener("click", (event) => this.reset(event.currentTarget));
    byId("window").addEventListener("change", () => this.refresh());
    const message = sessionStorage.getItem(MESSAGE_KEY);
    sessionStorage.removeItem(MESSAGE_KEY);
    if (session.token) {
      this.start();
    } else {
      this.showLogin(message || "");
    }
  }

  /** Reset what the dialog says, then redraw every panel and drop every message about the lab before it. */
  async reset(button) {
    const scope = document.querySelector("input[name=reset-scope]:checked").value;
    await act(button, byId("connection"), async () => {
      const reply = await admin("POST", `/reset?scope=${encodeURIComponent(scope)}`);
      byId("reset-dialog").close();
      for (const id of ["faults-message", "flags-message"]) say(byId(id), "");
      this.tryIt.clear();
      await this.refresh();
      return `Lab reset: ${reply.reset.join("; ")}`;
    });
  }

  showLogin(message) {
    byId("console").hidden = true;
    byId("session-actions").hidden = true;
    byId("login").hidden = false;
    say(byId("login-error"), message, "error");
    byId("token").focus();
  }

  async login(token) {
    if (!token) {
      say(byId("login-error"), "Type the admin token first: `purchase up` printed it.", "error");
      return;
    }
    session.keep(token);
    try {
      await admin("GET", "/overview");
    } catch (error) {
      if (!(error instanceof Unauthorized)) {
        session.forget();
        say(byId("login-error"), `Cannot reach the admin API: ${error.message}`, "error");
      }
      return;
    }
    byId("token").value = "";
    this.start();
  }

  /** The admin API refused the token: back to the login form, with nothing of the lab left on screen. */
  refused(message) {
    session.forget();
    if (!this.started) {
      say(byId("login-error"), `The admin token was refused: ${message}`, "error");
      return;
    }
    this.logout(`The admin token was refused: ${message}`);
  }

  logout(message) {
    session.forget();
    clearInterval(this.polling);
    sessionStorage.setItem(MESSAGE_KEY, message);
    window.location.reload();
  }

  async start() {
    this.started = true;
    byId("login").hidden = true;
    byId("console").hidden = false;
    byId("session-actions").hidden = false;
    byId("main").focus({ preventScroll: true });
    try {
      const overview = await admin("GET", "/overview");
      this.tryIt.employeeDomain = overview.employee_domain;
      await this.faults.load(overview.fault_options);
      await this.tryIt.loadProducts();
    } catch (error) {
      if (error instanceof Unauthorized) return;
      say(byId("connection"), `Could not load the console: ${error.message}`, "error");
    }
    await this.refresh();
    this.polling = setInterval(() => {
      if (!this.inFlight) this.refresh();
    }, POLL_MS);
  }

  /** Ask for every panel at once and draw what came back; a panel that failed says why. */
  async refresh() {
    const poll = { poll: true };
    const calls = {
      overview: admin("GET", "/overview", undefined, poll),
      flags: admin("GET", "/flags", undefined, poll),
      faults: admin("GET", "/faults", undefined, poll),
      stats: admin("GET", `/stats?window=${chartWindow()}`, undefined, poll),
      checkouts: admin("GET", "/checkouts", undefined, poll),
      outbox: admin("GET", "/outbox", undefined, poll),
      deploys: admin("GET", "/deploys", undefined, poll),
    };
    this.inFlight = Promise.allSettled(Object.values(calls));
    const settled = await this.inFlight;
    this.inFlight = null;
    const replies = Object.fromEntries(Object.keys(calls).map((name, index) => [name, settled[index]]));
    if (settled.some((result) => result.reason instanceof Unauthorized)) return;
    this.draw(replies);
  }

  draw({ overview, flags, faults, stats, checkouts, outbox, deploys }) {
    if (deploys.status === "fulfilled") this.deploys.render(deploys.value);
    else this.deploys.showError(deploys.reason);
    if (flags.status === "fulfilled") {
      this.flags = flags.value.flags;
      this.flagControls.render(flags.value);
    }
    if (overview.status === "fulfilled") renderTopology(this.topology, overview.value, this.flags);
    if (overview.status === "fulfilled") showFlagAgreement(byId("flags-disagree"), overview.value.flags);
    if (faults.status === "fulfilled") this.faults.render(faults.value);
    else this.faults.showError(faults.reason);
    if (stats.status === "fulfilled") this.dashboard.update(stats.value);
    if (checkouts.status === "fulfilled") renderCheckouts(checkouts.value);
    const redis = overview.status === "fulfilled" ? overview.value.nodes.find((node) => node.name === "redis") : null;
    const queued = outbox.value ? outbox.value.queued : (outbox.reason?.body?.error?.queued ?? redis?.email_queue);
    renderOutbox(outbox.value, outbox.reason, queued);
    const failed = [overview, flags, faults, stats, checkouts].filter((result) => result.status === "rejected");
    // The status line is a live region: it changes (and is read out) only when the state does.
    const state = failed.length ? `Some panels could not be updated: ${failed[0].reason.message}` : "Live";
    if (byId("connection").textContent !== state) say(byId("connection"), state, failed.length ? "error" : "info");
    byId("updated").textContent = `updated ${clock(Date.now() / 1000)}`;
  }
}

/** Say so while the lab's processes serve different flags; say nothing while they agree. */
function showFlagAgreement(notice, agreement) {
  const text = agreement && !agreement.agree ? agreement.summary : "";
  notice.hidden = !text;
  if (notice.textContent !== text) notice.textContent = text;
}

new OpsConsole();
