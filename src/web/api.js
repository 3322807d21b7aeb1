// The REST client: the access token lives in this module's memory only (never in storage, so a script injected
// elsewhere cannot read it from there); the refresh token is the HttpOnly cookie the API sets for `/auth`.

let accessToken = null;
let refreshing = null;
let onSignedOut = () => {};

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

/** Called once a session cannot be renewed (refresh refused): the page goes back to sign-in. */
export function setSignedOutHandler(handler) {
  onSignedOut = handler;
}

/**
 * Trade the refresh cookie for a new access token. Refresh tokens work once, and presenting a used one revokes
 * the whole session, so concurrent callers share one request instead of each sending their own.
 */
export function refreshSession() {
  if (refreshing === null) {
    refreshing = (async () => {
      try {
        const response = await fetch("/auth/refresh", { method: "POST", credentials: "same-origin" });
        if (!response.ok) {
          accessToken = null;
          return false;
        }
        const body = await response.json();
        accessToken = body.access_token;
        return true;
      } catch {
        return false;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

/** Sign in with the OAuth2 password flow; the API also sets the refresh cookie. */
export async function logIn(email, password) {
  const form = new URLSearchParams({ username: email, password });
  const response = await send("/auth/token", { method: "POST", body: form, credentials: "same-origin" });
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
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
  accessToken = null;
  try {
    await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
  } catch {
    // Offline: the token is gone from memory; the cookie runs out on its own.
  }
}

export async function getMeta() {
  const response = await send("/api/meta", {});
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/**
 * An authenticated call. A 401 means the access token ran out: refresh once (unless another call already did
 * while this one was under way) and retry once; when refreshing fails the session is over.
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
  const tokenUsed = accessToken;
  let response = await send(url, init());
  if (response.status === 401) {
    const renewed = accessToken !== tokenUsed && accessToken !== null ? true : await refreshSession();
    if (!renewed) {
      onSignedOut();
      throw new ApiError(401, await readBody(response));
    }
    response = await send(url, init());
    if (response.status === 401) {
      onSignedOut();
      throw new ApiError(401, await readBody(response));
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

const FIELD_NAMES = { username: "E-mail address", email: "E-mail address", password: "Password" };

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
  const loc = Array.isArray(error.loc) ? error.loc.filter((part) => !["body", "query", "path"].includes(part)) : [];
  const field = loc.length ? String(loc[loc.length - 1]) : "";
  const name = FIELD_NAMES[field] ?? field;
  if (field === "email" && error.type === "string_pattern_mismatch") return "Enter a valid e-mail address.";
  const message = String(error.msg ?? "is not valid");
  return name ? `${name}: ${message}.` : `${message}.`;
}
