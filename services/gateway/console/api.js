// Talking to the gateway: the admin API with the bearer token, and the public shop API as a user.
//
// The token lives in sessionStorage: it survives a reload of this tab, is gone when the tab closes,
// and never appears in a URL. Every admin call sends it as `Authorization: Bearer <token>`.

const TOKEN_KEY = "purchase-lab-admin-token";
const ADMIN = "/api/v1/admin";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  keep(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  forget() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** The admin API refused the token (401): the page goes back to the login form. */
export class Unauthorized extends Error {}

let whenRefused = () => {};

/** Call handler(message) whenever the admin API refuses the token. */
export function whenTokenRefused(handler) {
  whenRefused = handler;
}

/** Any other failed call; `message` is the API's own explanation of what to do. */
export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function readBody(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return { error: { message: text.slice(0, 200) } };
  }
}

function failure(response, body) {
  const message = body?.error?.message || `${response.status} ${response.statusText}`;
  return new ApiError(message, response.status, body);
}

/**
 * Call the admin API; resolves to the JSON body, rejects with Unauthorized or ApiError.
 * `poll` marks the once-a-second refresh, so that the gateway's access log can leave it out.
 */
export async function admin(method, path, body, { poll = false } = {}) {
  const token = session.token;
  if (!token) throw new Unauthorized("log in with the admin token first");
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  if (poll) headers["X-Console-Poll"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(ADMIN + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  const parsed = await readBody(response);
  if (response.status === 401) {
    const message = parsed?.error?.message || "the admin token was refused";
    whenRefused(message);
    throw new Unauthorized(message);
  }
  if (!response.ok) throw failure(response, parsed);
  return parsed;
}

/** Call the public shop API as a user (no admin token); resolves to {status, body} whatever the status. */
export async function shop(method, path, { userId, email, body, headers = {} } = {}) {
  const sent = { Accept: "application/json", ...headers };
  if (userId) sent["X-User-Id"] = userId;
  if (email) sent["X-User-Email"] = email;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: sent,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  return { status: response.status, body: await readBody(response) };
}

/** A fresh random key, such as an Idempotency-Key (works on plain http too, unlike randomUUID). */
export function randomKey(bytes = 16) {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(values, (value) => value.toString(16).padStart(2, "0")).join("");
}
