// The REST client: the access token lives in this module's memory only (never in storage, so a script injected
// elsewhere cannot read it from there); the refresh token is the HttpOnly cookie the API sets for `/auth`.

let accessToken = null;
let refreshing = null;
let onSignedOut = () => {};
// Bumped at every sign-in and sign-out. A request or refresh that began in an earlier session must neither install
// its token nor end the session that has replaced it.
let sessionGeneration = 0;

// The name of the Web Lock that serialises refreshes across this origin's tabs.
const REFRESH_LOCK = "finsync-refresh";

/** What the page says when /auth/refresh fails for any reason other than a refused token. */
export const SERVER_NOT_ANSWERING = "The server is not answering; try again.";

/** An answer outside 2xx, carrying the API's error envelope (`{code, detail, errors?}` plus extras such as
 * `retry_at` on a 429). */
export class ApiError extends Error {
  constructor(status, body) {
    super(describeEnvelope(status, body));
    this.name = "ApiError";
    this.status = status;
    this.body = body ?? {};
    this.code = this.body.code ?? "http_error";
  }
}

// Set by the API beside the HttpOnly refresh cookie, readable here, cleared on sign-out (src/auth/cookies.py): it
// says a session may exist, so a signed-out start asks nothing that would answer 401 (an error in the console).
const SESSION_MARKER = "finsync_session";

/** Whether a refresh cookie may be there (the page cannot see that cookie itself: it is HttpOnly). */
export function maySessionExist() {
  return typeof document !== "undefined" && document.cookie.split("; ").includes(`${SESSION_MARKER}=1`);
}

function forgetSessionMarker() {
  if (typeof document !== "undefined") document.cookie = `${SESSION_MARKER}=; Max-Age=0; Path=/; SameSite=Lax`;
}

/** Called once a session cannot be renewed (refresh refused): the page goes back to sign-in. */
export function setSignedOutHandler(handler) {
  onSignedOut = handler;
}

/**
 * Trade the refresh cookie for a new access token. Resolves to `"renewed"`, `"signed-out"` (the API refused the
 * token: a 401, the only answer that means the session is over) or `"unavailable"` (a network error or any other
 * answer, such as a 5xx: the session may still be valid, so it is not ended; and the refresh is not retried
 * automatically, because the server may have rotated the token before failing).
 *
 * Refresh tokens work once, and presenting a used one revokes the whole session (the server has no grace period).
 * So concurrent callers in this tab share one request, and tabs take turns through a Web Lock: a second tab waits
 * until the first tab's refresh has finished, and then sends the cookie the first tab has just received instead
 * of the spent one. Without Web Locks (older browsers) only the sharing within one tab applies.
 */
export function refreshSession() {
  if (refreshing === null) {
    const generation = sessionGeneration;
    const request = withRefreshLock(() => sendRefresh(generation)).finally(() => {
      if (refreshing === request) refreshing = null;
    });
    refreshing = request;
  }
  return refreshing;
}

function withRefreshLock(task) {
  if (typeof navigator !== "undefined" && navigator.locks?.request) {
    return navigator.locks.request(REFRESH_LOCK, task);
  }
  return task();
}

async function sendRefresh(generation) {
  if (generation !== sessionGeneration) return "signed-out"; // signed out while waiting for the lock
  let response;
  let body;
  try {
    // The cookie is read when the request is sent, i.e. inside the lock: after another tab's rotation.
    response = await fetch("/auth/refresh", { method: "POST", credentials: "same-origin" });
    body = response.ok ? await response.json() : null;
  } catch {
    return "unavailable";
  }
  const current = generation === sessionGeneration; // not signed out (or in as someone else) meanwhile
  if (response.status === 401) {
    if (current) {
      accessToken = null;
      forgetSessionMarker(); // the session it marked is over (revoked or run out): the next start asks nothing
    }
    return "signed-out";
  }
  if (!response.ok || typeof body?.access_token !== "string") return "unavailable";
  if (!current) return "signed-out";
  accessToken = body.access_token;
  return "renewed";
}

/** Sign in with the OAuth2 password flow; the API also sets the refresh cookie. */
export async function logIn(email, password) {
  const form = new URLSearchParams({ username: email, password });
  const response = await send("/auth/token", { method: "POST", body: form, credentials: "same-origin" });
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  newSession();
  accessToken = body.access_token;
}

export async function register(email, password) {
  const response = await send("/auth/register", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** Revoke the session (cookie) and forget the access token; the API answers 204 whatever it had. */
export async function logOut() {
  newSession();
  accessToken = null;
  try {
    await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
  } catch {
    // Offline: the token is gone from memory; the cookie runs out on its own.
  }
}

/** Requests and refreshes still under way belong to the session that is ending; a new refresh starts afresh. */
function newSession() {
  sessionGeneration += 1;
  refreshing = null;
}

export async function getMeta() {
  const response = await send("/api/meta", {});
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/**
 * An authenticated call. A 401 means the access token ran out: refresh once (unless another call already did
 * while this one was under way) and retry once; when the API refuses the refresh the session is over. When the
 * refresh fails otherwise (5xx, network) the call fails with SERVER_NOT_ANSWERING and the session is kept.
 */
export async function api(path, { method = "GET", query, json } = {}) {
  const url = withQuery(path, query);
  const init = () => {
    const headers = { Accept: "application/json" };
    if (accessToken !== null) headers.Authorization = `Bearer ${accessToken}`;
    const options = { method, headers, credentials: "same-origin" };
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(json);
    }
    return options;
  };
  const generation = sessionGeneration;
  const tokenUsed = accessToken;
  let response = await send(url, init());
  if (response.status === 401) {
    const body = await readBody(response);
    // A call from a session that has ended since: its 401 says nothing about the current one.
    if (generation !== sessionGeneration) throw new ApiError(401, body);
    const renewed = accessToken !== tokenUsed && accessToken !== null ? "renewed" : await refreshSession();
    if (generation !== sessionGeneration) throw new ApiError(401, body);
    if (renewed === "unavailable") {
      throw new ApiError(0, { code: "refresh_unavailable", detail: SERVER_NOT_ANSWERING });
    }
    if (renewed !== "renewed") {
      onSignedOut();
      throw new ApiError(401, body);
    }
    response = await send(url, init());
    if (response.status === 401) {
      const again = await readBody(response);
      if (generation === sessionGeneration) onSignedOut();
      throw new ApiError(401, again);
    }
  }
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (item !== undefined && item !== null && item !== "") params.append(name, String(item));
    }
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(url, init) {
  try {
    return await fetch(url, init);
  } catch {
    throw new ApiError(0, { code: "network_error", detail: "The server cannot be reached. Check your connection." });
  }
}

async function readBody(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

// API field and query-parameter names as the page labels them, so a validation error names what the user sees.
const FIELD_NAMES = {
  username: "E-mail address",
  email: "E-mail address",
  password: "Password",
  account_id: "Account",
  date_from: "From",
  date_to: "To",
  from: "From",
  to: "To",
  status: "Status",
  min_amount: "Min amount",
  max_amount: "Max amount",
  direction: "Direction",
  min_size: "Min size",
  max_size: "Max size",
  q: "Search",
  include_superseded: "Show pending items already booked",
  institution_id: "Bank",
  friendly_name: "Name",
  display_name: "Name",
  hidden: "Hidden",
  redirect_url: "Address",
  country: "Country",
};

/** One sentence from the error envelope; validation errors name each field that failed. */
function describeEnvelope(status, body) {
  if (body && Array.isArray(body.errors) && body.errors.length > 0) {
    return body.errors.map(describeFieldError).join(" ");
  }
  if (body && typeof body.detail === "string" && body.detail) return body.detail;
  if (status >= 500) return "Something went wrong on the server; please try again.";
  return `The request failed (HTTP ${status}).`;
}

function describeFieldError(error) {
  // Only names: a repeated parameter's position (`["query", "account_id", 0]`) says nothing to the user.
  const loc = Array.isArray(error.loc)
    ? error.loc.filter((part) => typeof part === "string" && !["body", "query", "path"].includes(part))
    : [];
  const field = loc.length ? String(loc[loc.length - 1]) : "";
  const name = Object.hasOwn(FIELD_NAMES, field) ? FIELD_NAMES[field] : field;
  if (field === "email" && error.type === "string_pattern_mismatch") return "Enter a valid e-mail address.";
  const message = String(error.msg ?? "is not valid");
  return name ? `${name}: ${message}.` : `${message}.`;
}
