// Small helpers to build the page from data without ever parsing data as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

/** An HTML element with attributes and children (strings become text nodes). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** An SVG element with attributes and children. */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attributes);
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

/** The element with this id. */
export function byId(id) {
  return document.getElementById(id);
}

/** Show a message in a status line; kind "error" styles it as one. */
export function say(element, text, kind = "info") {
  element.textContent = text;
  element.classList.toggle("error", kind === "error");
}

/** Run an async action from a button, disabling it meanwhile; errors are shown in `status`. */
export async function act(button, status, action) {
  if (button) button.disabled = true;
  try {
    const done = await action();
    if (done) say(status, done);
  } catch (error) {
    say(status, error.message, "error");
  } finally {
    if (button) button.disabled = false;
  }
}

/** "12:03:45" for a unix time in seconds. */
export function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
}

/** "$12.50" for cents. */
export function money(cents, currency = "USD") {
  if (cents === null || cents === undefined) return "";
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
}
