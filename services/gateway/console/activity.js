// What customers did and got: "Try it" (a checkout placed from the page), recent checkouts, the outbox.

import { randomKey, shop } from "./api.js";
import { byId, clock, h, money } from "./dom.js";

function newUserId() {
  return `c-${randomKey(3)}`;
}

function describeDegradation(degradation) {
  return `${degradation.dependency} → ${degradation.fallback} (${degradation.error})`;
}

/** The outcome of one checkout reply, in words. */
export function describeCheckout(status, body) {
  if (status === 200 || status === 201) {
    const degraded = body.degraded.length ? `degraded: ${body.degraded.map(describeDegradation).join("; ")}` : "not degraded";
    const total = money(body.total_cents, body.currency);
    return `${status} ${body.replayed ? "replayed" : "placed"} order ${body.order_id}, total ${total}, email ${body.email}, ${degraded}`;
  }
  const error = body?.error || {};
  const dependency = error.dependency ? ` (${error.dependency})` : "";
  return `${status} ${error.code || "error"}${dependency}: ${error.message || "no message"}`;
}

export class TryIt {
  constructor() {
    this.form = byId("try-form");
    this.result = byId("try-result");
    this.employeeDomain = "purchase.example";
    byId("try-user").value = newUserId();
    byId("try-new-user").addEventListener("click", () => {
      byId("try-user").value = newUserId();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.place(event.submitter);
    });
  }

  /** Offer the catalogue's products (asked as an ordinary user would). */
  async loadProducts() {
    const reply = await shop("GET", "/products");
    if (reply.status !== 200) return;
    byId("try-sku").replaceChildren(
      ...reply.body.products.map((product) =>
        h("option", { value: product.sku }, `${product.name} (${money(product.price_cents, product.currency)})`),
      ),
    );
  }

  async place(button) {
    button.disabled = true;
    try {
      const data = new FormData(this.form);
      const userId = String(data.get("user")).trim();
      const email = data.get("role") === "employee" ? `${userId}@${this.employeeDomain}` : undefined;
      if (!byId("try-sku").value) await this.loadProducts();
      const steps = [["POST", "/cart/items", { sku: byId("try-sku").value, quantity: Number(data.get("quantity")) || 1 }]];
      const promo = String(data.get("promo") || "").trim();
      if (promo) steps.push(["POST", "/cart/promo", { code: promo }]);
      let stale = "";
      for (const [method, path, body] of steps) {
        const reply = await shop(method, path, { userId, email, body });
        if (reply.status !== 200) {
          return this.show("failed", `${method} ${path}: ${describeCheckout(reply.status, reply.body)}`, reply);
        }
        if (reply.body.stale) {
          stale = ` (The cart was filled from the last good catalogue: ${reply.body.degraded.map(describeDegradation).join("; ")}.)`;
        }
      }
      const reply = await shop("POST", "/checkout", { userId, email, headers: { "Idempotency-Key": randomKey() } });
      const ok = reply.status === 200 || reply.status === 201;
      const kind = !ok ? "failed" : reply.body.degraded.length ? "degraded" : "ok";
      const who = `${userId}${email ? " (employee)" : ""}`;
      this.show(kind, `Checkout as ${who}: ${describeCheckout(reply.status, reply.body)}${stale}`, reply);
    } catch (error) {
      this.show("failed", `The gateway did not answer: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  /** Forget the last result (after a reset, it describes a lab that is gone). */
  clear() {
    delete this.result.dataset.result;
    this.result.replaceChildren();
  }

  show(kind, text, reply) {
    this.result.dataset.result = kind;
    this.result.replaceChildren(
      h("p", {}, text),
      reply ? h("details", {}, h("summary", {}, "Response body"), h("pre", {}, JSON.stringify(reply.body, null, 2))) : null,
    );
  }
}

function resultWords(checkout, kind) {
  if (kind === "failed" || kind === "rejected") return `${kind} ${checkout.status}`;
  if (kind === "degraded") return "degraded";
  return checkout.outcome;
}

function whatWentWrong(checkout) {
  if (checkout.degraded.length) {
    return checkout.degraded.map((d) => `${d.dependency} → ${d.fallback}`).join("; ");
  }
  if (!checkout.error) return "";
  return checkout.error.dependency ? `${checkout.error.dependency}: ${checkout.error.code}` : checkout.error.code;
}

/** The longer story, for the row's tooltip and screen readers: the gRPC statuses, or the error message. */
function detailOf(checkout) {
  if (checkout.degraded.length) return checkout.degraded.map((d) => `${d.dependency} failed with ${d.error}`).join("; ");
  return checkout.error ? checkout.error.message : "";
}

function kindOf(checkout) {
  if (checkout.outcome === "failed" || checkout.outcome === "rejected") return checkout.outcome;
  return checkout.degraded.length ? "degraded" : "ok";
}

/** Show GET /checkouts. */
export function renderCheckouts({ checkouts }) {
  const rows = checkouts.map((checkout) => {
    const kind = kindOf(checkout);
    return h(
      "tr",
      { class: `row-${kind}`, "data-order": checkout.order_id || "", title: detailOf(checkout) || null },
      h("td", { class: "nowrap" }, clock(checkout.at)),
      h("td", {}, checkout.user_id || "?", checkout.employee ? h("span", { class: "tag" }, "employee") : null),
      h("td", { class: "nowrap" }, h("span", { class: `badge badge-${kind}` }, resultWords(checkout, kind))),
      h("td", {}, checkout.email || ""),
      h(
        "td",
        {},
        whatWentWrong(checkout),
        detailOf(checkout) ? h("span", { class: "visually-hidden" }, `: ${detailOf(checkout)}`) : null,
      ),
      h("td", { class: "number" }, String(Math.round(checkout.duration_ms))),
    );
  });
  if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 6, class: "hint" }, "No checkouts yet: place one with Try it.")));
  byId("checkouts").tBodies[0].replaceChildren(...rows);
}

/** Show GET /outbox, or why it cannot be read (email down is the lab's favourite case). */
export function renderOutbox(reply, error, queued) {
  const status = byId("outbox-status");
  const waiting = queued ? ` ${queued} email${queued === 1 ? "" : "s"} queued, sent when email recovers.` : "";
  if (error) {
    status.textContent = `${error.message}.${queued ? ` Queued now: ${queued}.` : ""}`;
    status.classList.add("error");
    byId("outbox").replaceChildren();
    return;
  }
  status.classList.remove("error");
  status.textContent = `${reply.emails.length} newest emails.${waiting}`;
  byId("outbox").replaceChildren(
    ...reply.emails.map((email) =>
      h(
        "li",
        { "data-order": email.order_id || "" },
        h("span", { class: "hint" }, email.created_at ? clock(Date.parse(email.created_at) / 1000) : ""),
        " ",
        h("strong", {}, email.subject || email.kind),
        ` to ${email.to}`,
      ),
    ),
  );
}
