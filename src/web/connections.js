// Connection cards and their sync jobs: Sync now, polling a job until it ends, renewing consent, deleting.
// A card's job state outlives re-rendering (the list is redrawn after every sync), so it is kept by connection id.

import { api, ApiError } from "./api.js";
import { backgroundFacts, quotaHelp, syncBlockedReason, syncBlockedUntil } from "./background.js";
import { el, leaveFor, showMessage } from "./dom.js";
import { formatDate, formatDateTime, formatRelative, formatTime, formatUpcoming } from "./format.js";
import { jobHistory } from "./history.js";
import { callbackMessage, providerName } from "./providers.js";
import { forgetRenames, renameControl } from "./rename.js";
import { connectionStatusLabel } from "./words.js";

export const TERMINAL_JOB_STATUSES = new Set(["completed", "failed", "canceled"]);
const POLL_INTERVAL_MS = 1000;
const MAX_POLL_FAILURES = 5;
// The statuses `POST /api/connections/{id}/reauthorise` accepts (src/connections/service.py `reauthorise`): every
// status but pending, and active only while `expiring_soon`.
const RENEWABLE_STATUSES = new Set(["expired", "rejected", "suspended", "error"]);
// A connect that was refused at the bank or failed: the card says "Try again" (a new consent for the same bank, through
// the same reauthorise call, which accepts both) and "Remove", so the card never leaves the person with nothing to do.
const FAILED_STATUSES = new Set(["rejected", "error"]);

// What to do about a status, after its words (words.js `CONNECTION_STATUS_WORDS`, the exact term on hover).
const STATUS_HELP = {
  pending: "Finish at your bank to start syncing.",
  active: "",
  rejected: "The consent was not given at the bank.",
  expired: "Renew consent to keep syncing.",
  suspended: "The bank stopped access for now.",
  error: "Something went wrong with this connection.",
};

// Connections whose consent was asked with `paste_redirect` (the bank may be unable to send the person back here):
// connection id → when, kept in this browser for a day so the paste offer is open when the person comes back.
const PASTE_KEY = "finsync.pasteRedirect";
const PASTE_KEPT_MS = 24 * 60 * 60 * 1000;

/** connection id → `{ state, text, busy, jobId, timer, failures, refusedUntil }` (`refusedUntil`: a 429's
 * `retry_at`) */
const jobs = new Map();
/** Connections whose "Recent syncs" is unfolded: it stays so across redraws. */
const openHistories = new Set();
let connections = [];
let hooks = { onSynced: () => {}, onChanged: () => {}, onRenamed: () => {}, notify: () => {} };
let root = null;
let emptyState = null;
// Bumped by resetConnections (the session ended): an answer to a request of the previous session is dropped, so
// one user's connections never land in the page the next user signs in to.
let epoch = 0;

export function setUpConnections(container, empty, callbacks) {
  root = container;
  emptyState = empty;
  hooks = { ...hooks, ...callbacks };
}

export function currentConnections() {
  return connections;
}

export function connectionName(connection) {
  return connection.friendly_name || connection.institution.name;
}

export async function loadConnections() {
  const started = epoch;
  const page = await api("/api/connections");
  if (started !== epoch) return connections;
  connections = page.items;
  render();
  return connections;
}

/** Resume following syncs that were under way before the page loaded (a reload during a sync). */
export async function resumeUnfinishedJobs() {
  const started = epoch;
  const page = await api("/api/jobs", { query: { entity_type: "connection", limit: 50 } });
  if (started !== epoch) return;
  for (const job of page.items) {
    if (!TERMINAL_JOB_STATUSES.has(job.status) && !jobs.get(job.entity_id)?.busy) followJob(job.entity_id, job.id);
  }
}

/** Stop every poll and forget the session's connections (signing out, or the session ended). */
export function resetConnections() {
  epoch += 1;
  for (const state of jobs.values()) clearTimeout(state.timer);
  jobs.clear();
  openHistories.clear();
  forgetRenames();
  connections = [];
  root?.replaceChildren();
}

/** After the browser's Back button restores the page from its cache, a Renew consent button clicked before leaving
 * is still disabled: enable them again (each card's own Renew only disables itself while under way). */
export function enableRenewButtons() {
  for (const button of root?.querySelectorAll("button.renew") ?? []) button.disabled = false;
}

/** Refresh the relative "last synced" and "next background sync" times without rebuilding the cards (focus stays
 * where it is), and give Sync now back once the bank's reads have come back. */
export function refreshRelativeTimes() {
  for (const node of root?.querySelectorAll("time[data-relative]") ?? []) {
    node.textContent = formatRelative(node.dateTime);
  }
  for (const node of root?.querySelectorAll("time[data-upcoming]") ?? []) {
    node.textContent = formatUpcoming(node.dateTime);
  }
  for (const article of root?.querySelectorAll("article.connection-card") ?? []) updateSyncButton(article);
}

function render() {
  // An address being pasted survives the redraw that follows another connection's sync.
  const typed = new Map();
  for (const input of root.querySelectorAll("input.paste-url")) {
    if (input.value) typed.set(input.dataset.connectionId, input.value);
  }
  const focused = focusedControl();
  root.replaceChildren(...connections.map(card));
  for (const input of root.querySelectorAll("input.paste-url")) {
    if (typed.has(input.dataset.connectionId)) input.value = typed.get(input.dataset.connectionId);
  }
  emptyState.hidden = connections.length > 0;
  if (focused) refocus(focused);
}

// The controls of a card that keep focus across a redraw, by class: the list is redrawn after every sync and
// rename, and focus on a removed node would fall back to <body> (a screen reader starts over at the top).
const KEPT_FOCUS = [
  "sync-now",
  "job-status",
  "sync-blocked",
  "renew",
  "delete",
  "rename-open",
  "rename-input",
  "rename-save",
  "rename-cancel",
  "paste-url",
  "paste-submit",
];

function focusedControl() {
  const active = document.activeElement;
  const article = active?.closest?.("article.connection-card");
  if (!article || !root.contains(article)) return null;
  const kind = KEPT_FOCUS.find((name) => active.classList.contains(name));
  return { connectionId: article.dataset.connectionId, kind: kind ?? null };
}

/** The same control on the redrawn card; its status line when Sync now is off now (a sync under way), the card
 * itself for any other control that is gone. */
function refocus({ connectionId, kind }) {
  const article = cardFor(connectionId);
  if (!article) return;
  const control = kind ? article.querySelector(`.${kind}`) : null;
  if (control && !control.disabled && control.getClientRects().length > 0) control.focus();
  else if (kind === "sync-now") focusStatus(article);
  else article.focus();
}

/** The card's status line; while it is empty (and not displayed), the note saying why Sync now is off when there
 * is one, else the card itself. */
function focusStatus(article) {
  for (const selector of [".job-status", ".sync-blocked"]) {
    const node = article.querySelector(selector);
    if (node && node.getClientRects().length > 0) {
      node.focus();
      return;
    }
  }
  article.focus();
}

// -- pasting the address the bank sent the person back to (Enable Banking, where finsync's address is not https) --

function readPasteMemory() {
  try {
    const stored = JSON.parse(window.localStorage.getItem(PASTE_KEY) ?? "{}");
    return stored && typeof stored === "object" && !Array.isArray(stored) ? stored : {};
  } catch {
    return {}; // storage disabled or unreadable: a pending connection's card still offers it, folded
  }
}

function writePasteMemory(memory) {
  const now = Date.now();
  const kept = Object.fromEntries(
    Object.entries(memory).filter(([, when]) => typeof when === "number" && now - when < PASTE_KEPT_MS),
  );
  try {
    window.localStorage.setItem(PASTE_KEY, JSON.stringify(kept));
  } catch {
    // Storage disabled: a pending connection's card still offers it, folded.
  }
}

/** The consent just asked for this connection may end at an address the person has to paste back here. */
export function awaitPastedRedirect(connectionId) {
  writePasteMemory({ ...readPasteMemory(), [connectionId]: Date.now() });
}

export function forgetPastedRedirect(connectionId) {
  const memory = readPasteMemory();
  if (!Object.hasOwn(memory, connectionId)) return;
  delete memory[connectionId];
  writePasteMemory(memory);
}

function awaitsPastedRedirect(connectionId) {
  const when = readPasteMemory()[connectionId];
  return typeof when === "number" && Date.now() - when < PASTE_KEPT_MS;
}

/** An Enable Banking connection waiting for consent (or re-asked for it here) offers the paste field: open when
 * its consent was asked with `paste_redirect`, folded otherwise (the bank may yet send the person back). */
function pasteOffer(connection) {
  if (connection.provider !== "enablebanking") return null;
  const awaited = awaitsPastedRedirect(connection.id);
  if (connection.status !== "pending" && !awaited) return null;
  const inputId = `paste-url-${connection.id}`;
  const input = el("input", {
    class: "paste-url",
    data: { connectionId: connection.id },
    attrs: {
      id: inputId,
      type: "text",
      inputmode: "url",
      autocomplete: "off",
      spellcheck: "false",
      maxlength: "4096",
      placeholder: "http://…/api/connections/callback/enablebanking?code=…&state=…",
    },
  });
  const button = el("button", { class: "paste-submit", text: "Finish connecting", attrs: { type: "submit" } });
  const error = el("p", { class: "form-error paste-error", attrs: { role: "alert", hidden: true } });
  const form = el(
    "form",
    { class: "paste-form" },
    el("label", { attrs: { for: inputId }, text: "Paste the address your bank sent you back to" }),
    el(
      "p",
      { class: "field-help" },
      "If the bank could not bring you back here, copy the address from your browser's address bar where the bank " +
        "left you, and paste it here.",
    ),
    el("div", { class: "paste-row" }, input, button),
    error,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    pasteRedirect(connection, input, button, error);
  });
  return el(
    "details",
    { class: "paste-redirect", attrs: { open: awaited } },
    el("summary", { text: "Did your bank not bring you back?" }),
    form,
  );
}

async function pasteRedirect(connection, input, button, error) {
  const address = input.value.trim();
  if (!address) {
    showMessage(error, "Paste the address first.");
    input.focus();
    return;
  }
  const started = epoch;
  button.disabled = true;
  showMessage(error, "");
  let result;
  try {
    result = await api("/api/connections/callback/enablebanking", {
      method: "POST",
      json: { redirect_url: address },
    });
  } catch (failure) {
    if (started !== epoch) return;
    button.disabled = false;
    showMessage(error, failure.message);
    return;
  }
  if (started !== epoch) return; // signed out meanwhile
  const callback = { status: result.status, error: result.error, jobId: result.job_id };
  const [message, kind] = callbackMessage(callback);
  if (result.status === "error") {
    // Nothing changed (an unknown or used address, or Enable Banking not answering): the field stays to try again.
    button.disabled = false;
    showMessage(error, message);
    return;
  }
  const connectionId = result.connection_id ?? connection.id;
  forgetPastedRedirect(connection.id);
  forgetPastedRedirect(connectionId);
  hooks.notify(message, kind);
  await hooks.onChanged();
  if (started === epoch && result.job_id) followJob(connectionId, result.job_id);
}

function card(connection) {
  const name = connectionName(connection);
  const article = el("article", {
    class: "card connection-card",
    data: { connectionId: connection.id, status: connection.status, provider: connection.provider },
    // Focusable from script: where focus goes when the card before it is deleted.
    attrs: { "aria-label": name, tabindex: "-1" },
  });
  const subtitle = connection.friendly_name ? connection.institution.name : null;
  const blockedId = `sync-blocked-${connection.id}`;
  const syncButton = el("button", {
    class: "sync-now",
    text: "Sync now",
    attrs: { type: "button", "aria-describedby": blockedId },
  });
  // Why Sync now is off (no bank read left): a live region, so a refusal met by pressing it is read out.
  const syncBlocked = el("p", {
    class: "sync-blocked",
    attrs: { id: blockedId, role: "status", "aria-live": "polite", tabindex: "-1", hidden: true },
  });
  // Focusable from script: Sync now turns itself off while its sync runs, and focus waits here, where the progress
  // and then the outcome are written.
  const jobStatus = el("p", {
    class: "job-status",
    attrs: { role: "status", "aria-live": "polite", tabindex: "-1" },
  });
  const canRenew =
    RENEWABLE_STATUSES.has(connection.status) || (connection.status === "active" && connection.expiring_soon);
  const failed = FAILED_STATUSES.has(connection.status);
  const renewButton = canRenew
    ? el("button", {
        class: failed ? "renew retry button-secondary" : "renew button-secondary",
        text: failed ? "Try again" : "Renew consent",
        attrs: { type: "button" },
      })
    : null;
  const deleteButton = el("button", {
    class: failed ? "delete remove button-danger" : "delete button-danger",
    text: failed ? "Remove" : "Delete",
    attrs: { type: "button" },
  });

  syncButton.addEventListener("click", () => syncNow(connection.id));
  renewButton?.addEventListener("click", () => renew(connection, renewButton));
  deleteButton.addEventListener("click", () => remove(connection, deleteButton));

  const offer = pasteOffer(connection);
  const help = quotaHelp(connection);
  const drawn = epoch;
  const history = jobHistory(connection.id, {
    open: openHistories.has(connection.id),
    onToggle: (open) => (open ? openHistories.add(connection.id) : openHistories.delete(connection.id)),
    stillCurrent: () => drawn === epoch,
  });
  // `append` (unlike `el`) would write a missing node as the text "null".
  article.append(
    el(
      "header",
      { class: "card-head" },
      el("h3", { class: "connection-name", text: name }),
      subtitle ? el("p", { class: "institution", text: subtitle }) : null,
      el("p", { class: "provider", text: `via ${providerName(connection.provider)}` }),
      renameControl({
        key: `connection:${connection.id}`,
        name,
        value: connection.friendly_name ?? "",
        label: "Name for this connection",
        placeholder: connection.institution.name,
        save: (value) => rename(connection.id, value),
      }),
    ),
    el(
      "dl",
      { class: "facts" },
      el("dt", { text: "Status" }),
      el(
        "dd",
        {},
        connectionStatusLabel(connection.status, { className: `status status-${connection.status}` }),
        STATUS_HELP[connection.status]
          ? el("span", { class: "status-help", text: ` ${STATUS_HELP[connection.status]}` })
          : null,
      ),
      el("dt", { text: "Consent" }),
      el("dd", { class: "expiry" }, ...expiry(connection)),
      el("dt", { text: "Last sync" }),
      el("dd", { class: "last-sync" }, ...lastSync(connection)),
      el("dt", { text: "Accounts" }),
      el("dd", { class: "account-count", text: String(connection.account_count) }),
      ...backgroundFacts(connection),
    ),
    ...(help ? [help] : []),
    el("div", { class: "actions" }, syncButton, renewButton, deleteButton),
    syncBlocked,
    ...(offer ? [offer] : []),
    jobStatus,
    history,
  );
  applyJobState(article);
  return article;
}

function expiry(connection) {
  if (!connection.expires_at) return ["No end date reported yet"];
  const parts = [];
  const when = el("time", { attrs: { datetime: connection.expires_at }, text: formatDate(connection.expires_at) });
  if (connection.status === "expired" || (connection.days_left !== null && connection.days_left < 0)) {
    parts.push("Ended ", when);
  } else {
    parts.push("Until ", when);
    if (connection.days_left !== null) {
      parts.push(connection.days_left === 1 ? " · 1 day left" : ` · ${connection.days_left} days left`);
    }
  }
  if (connection.expiring_soon) parts.push(" ", el("span", { class: "badge badge-warn", text: "expiring soon" }));
  return parts;
}

function lastSync(connection) {
  if (!connection.last_synced_at) return ["never"];
  return [
    el("time", {
      attrs: { datetime: connection.last_synced_at, title: formatDateTime(connection.last_synced_at) },
      data: { relative: "" },
      text: formatRelative(connection.last_synced_at),
    }),
    ` (${formatDateTime(connection.last_synced_at)})`,
  ];
}

function cardFor(connectionId) {
  for (const article of root?.querySelectorAll("article.connection-card") ?? []) {
    if (article.dataset.connectionId === connectionId) return article;
  }
  return null;
}

/** Sync now is off while a sync is under way, for a connection that is not active, and while the bank allows no
 * read (said beside it, with the time it comes back). */
function updateSyncButton(article) {
  const connectionId = article.dataset.connectionId;
  const connection = connections.find((item) => item.id === connectionId);
  const state = jobs.get(connectionId);
  const button = article.querySelector("button.sync-now");
  const note = article.querySelector(".sync-blocked");
  const active = connection?.status === "active";
  const until = active ? syncBlockedUntil(connection, state?.refusedUntil) : null;
  button.disabled = Boolean(state?.busy) || !active || until !== null;
  if (!active) button.title = "Only an active connection can be synced.";
  else if (until) button.title = "The bank allows no more reads for now.";
  else button.removeAttribute("title");
  // A live region: rewritten only when the time changes, so it is read out once.
  if ((note.dataset.until ?? "") !== (until ?? "")) {
    note.replaceChildren(...(until ? syncBlockedReason(until) : []));
    if (until) note.dataset.until = until;
    else delete note.dataset.until;
  }
  note.hidden = !until;
}

/** Copy the remembered job state of a connection onto its card (after a redraw or a change). */
function applyJobState(article) {
  updateSyncButton(article);
  const state = jobs.get(article.dataset.connectionId);
  const status = article.querySelector(".job-status");
  if (!state) return;
  if (state.state) article.dataset.jobState = state.state;
  else delete article.dataset.jobState;
  article.setAttribute("aria-busy", state.busy ? "true" : "false");
  // A live region: rewriting it (every poll) with the same words would have screen readers repeat them.
  const text = state.text ?? "";
  if (status.textContent !== text) status.textContent = text;
  status.classList.toggle("job-error", Boolean(state.error));
}

function setJob(connectionId, changes) {
  const state = { ...(jobs.get(connectionId) ?? {}), ...changes };
  jobs.set(connectionId, state);
  const article = cardFor(connectionId);
  if (article) applyJobState(article);
  return state;
}

export async function syncNow(connectionId) {
  if (jobs.get(connectionId)?.busy) return;
  // Sync now is about to turn itself off (a disabled button drops focus to <body>): focus moves to the card's
  // status line, which says how the sync goes, and stays there through the redraw when it ends. (After its text
  // is set: an empty status line is not displayed, so it could not take focus.)
  const article = cardFor(connectionId);
  const focusWasHere = Boolean(article?.contains(document.activeElement));
  // The previous job's end state goes, so nobody mistakes it for this sync's.
  setJob(connectionId, { busy: true, state: null, text: "Starting sync…", error: false });
  if (focusWasHere) focusStatus(article);
  let job;
  try {
    job = await api(`/api/connections/${encodeURIComponent(connectionId)}/sync`, { method: "POST" });
  } catch (error) {
    if (!jobs.has(connectionId)) return; // signed out meanwhile
    const refusedUntil = error instanceof ApiError && error.status === 429 ? error.body.retry_at : null;
    if (refusedUntil) {
      // Said beside the button it turns off (`.sync-blocked`), as when the card already knew; focus goes there from
      // the status line, which empties.
      setJob(connectionId, { busy: false, state: null, error: false, text: "", refusedUntil });
      const card = cardFor(connectionId);
      if (focusWasHere && card) focusStatus(card);
    } else {
      setJob(connectionId, { busy: false, state: null, error: true, text: error.message });
    }
    return;
  }
  if (!jobs.has(connectionId)) return; // signed out meanwhile
  followJob(connectionId, job.id, job);
}

/** Poll a job about once a second until it ends, showing its progress on the connection's card. */
export function followJob(connectionId, jobId, firstAnswer = null) {
  const current = jobs.get(connectionId);
  if (current?.busy && current.jobId === jobId && current.timer) return;
  clearTimeout(current?.timer);
  setJob(connectionId, { busy: true, jobId, failures: 0, error: false, text: current?.text || "Starting sync…" });
  if (firstAnswer) showJob(connectionId, firstAnswer);
  else poll(connectionId, jobId);
}

async function poll(connectionId, jobId) {
  const state = jobs.get(connectionId);
  if (!state || state.jobId !== jobId) return;
  try {
    const job = await api(`/api/jobs/${encodeURIComponent(jobId)}`);
    if (jobs.get(connectionId)?.jobId !== jobId) return; // deleted or signed out meanwhile
    setJob(connectionId, { failures: 0 });
    showJob(connectionId, job);
  } catch (error) {
    if (jobs.get(connectionId)?.jobId !== jobId) return; // deleted or signed out meanwhile
    const failures = (jobs.get(connectionId).failures ?? 0) + 1;
    // A refresh that failed (refresh_unavailable) is not retried by polling: the server may have rotated the token.
    const fatal = error.status === 404 || error.status === 401 || error.code === "refresh_unavailable";
    if (error instanceof ApiError && (fatal || failures >= MAX_POLL_FAILURES)) {
      setJob(connectionId, { busy: false, error: true, timer: null, text: `Lost track of the sync: ${error.message}` });
      return;
    }
    const timer = setTimeout(() => poll(connectionId, jobId), POLL_INTERVAL_MS * 2 ** failures);
    setJob(connectionId, { failures, timer });
  }
}

function showJob(connectionId, job) {
  if (jobs.get(connectionId)?.jobId !== job.id) return;
  if (!TERMINAL_JOB_STATUSES.has(job.status)) {
    const timer = setTimeout(() => poll(connectionId, job.id), POLL_INTERVAL_MS);
    setJob(connectionId, { busy: true, state: job.status, timer, text: progressText(job) });
    return;
  }
  if (job.status === "completed") {
    const when = formatTime(job.completed_at ?? new Date().toISOString());
    const by = job.trigger === "scheduled" ? " by the background sync" : "";
    const text = [`Synced ✓ ${when}${by}`, ...outcomeNotes(job)].join(" · ");
    setJob(connectionId, { busy: false, state: job.status, timer: null, error: false, text });
    hooks.onSynced(connectionId, job);
  } else {
    const fallback = job.status === "canceled" ? "The sync was canceled." : "The sync failed.";
    const text = job.error_message || fallback;
    setJob(connectionId, { busy: false, state: job.status, timer: null, error: true, text });
  }
}

/** A scheduled job (the background sync, met when the page loads during one) says so. */
function progressText(job) {
  const syncing = job.trigger === "scheduled" ? "Background sync…" : "Syncing…";
  if (job.progress && job.progress.total > 0) {
    return `${syncing} ${job.progress.done} of ${job.progress.total} steps`;
  }
  if (job.status === "pending") {
    return job.error_message ? `Waiting to start: ${job.error_message}` : "Waiting to start…";
  }
  return syncing;
}

/** Accounts the run could not sync fully, said briefly after "Synced ✓". */
function outcomeNotes(job) {
  const notes = [];
  const count = (kind) => job.outcomes.filter((outcome) => outcome.outcome === kind).length;
  const plural = (n) => (n === 1 ? "1 account" : `${n} accounts`);
  const limited = job.outcomes.filter((outcome) => outcome.outcome === "rate_limited");
  if (limited.length) {
    const retry = limited.map((outcome) => outcome.retry_at).filter(Boolean).sort()[0];
    notes.push(`${plural(limited.length)} rate limited${retry ? ` until ${formatDateTime(retry)}` : ""}`);
  }
  if (count("reauth_required")) notes.push(`${plural(count("reauth_required"))} need renewed consent`);
  if (count("bank_error")) notes.push(`${plural(count("bank_error"))} not synced: the bank answered with an error`);
  return notes;
}

async function renew(connection, button) {
  const started = epoch;
  button.disabled = true;
  let answer;
  try {
    answer = await api(`/api/connections/${encodeURIComponent(connection.id)}/reauthorise`, { method: "POST" });
  } catch (error) {
    if (started !== epoch) return;
    button.disabled = false;
    hooks.notify(`Could not renew consent for ${connectionName(connection)}: ${error.message}`, "error");
    button.focus(); // still on its card, to try once more or remove it
    return;
  }
  if (started !== epoch) return; // signed out meanwhile: do not take the next user to this consent page
  if (answer.paste_redirect) awaitPastedRedirect(connection.id);
  if (!leaveFor(answer.link)) {
    button.disabled = false;
    const name = connectionName(connection);
    hooks.notify(`Could not renew consent for ${name}: the bank's address is not valid.`, "error");
    button.focus();
  }
}

/** `PATCH /api/connections/{id}` with the new friendly name (empty clears it); the cards are redrawn with the answer
 * (and the account cards, which name their bank). */
async function rename(connectionId, friendlyName) {
  const started = epoch;
  const renamed = await api(`/api/connections/${encodeURIComponent(connectionId)}`, {
    method: "PATCH",
    json: { friendly_name: friendlyName || null },
  });
  if (started !== epoch) return; // signed out meanwhile
  connections = connections.map((item) => (item.id === renamed.id ? renamed : item));
  render();
  hooks.onRenamed(renamed);
}

async function remove(connection, button) {
  const name = connectionName(connection);
  const position = connections.findIndex((item) => item.id === connection.id);
  if (!window.confirm(`Delete ${name}? Its accounts, balances and transactions are deleted too.`)) return;
  button.disabled = true;
  const started = epoch;
  try {
    await api(`/api/connections/${encodeURIComponent(connection.id)}`, { method: "DELETE" });
  } catch (error) {
    if (started !== epoch) return;
    button.disabled = false;
    hooks.notify(`Could not delete ${name}: ${error.message}`, "error");
    button.focus();
    return;
  }
  if (started !== epoch) return; // signed out meanwhile
  const state = jobs.get(connection.id);
  clearTimeout(state?.timer);
  jobs.delete(connection.id);
  forgetPastedRedirect(connection.id);
  hooks.notify(`${name} was deleted.`, "success");
  await hooks.onChanged();
  if (started === epoch) focusAfterRemoval(position);
}

/** The removed card's button went with it: focus the card that took its place (the next one, or the one before when
 * it was the last), so a person going through their connections carries on from there; with none left, the bank
 * chooser (to connect again) when it can take focus, the page's main region otherwise, never <body>. */
function focusAfterRemoval(position) {
  const cards = [...(root?.querySelectorAll("article.connection-card") ?? [])];
  const next = cards[Math.min(Math.max(position, 0), cards.length - 1)];
  if (next) {
    next.focus();
    return;
  }
  const chooser = document.getElementById("institution");
  if (chooser && !chooser.disabled && chooser.offsetParent !== null) {
    chooser.focus();
    return;
  }
  document.getElementById("main")?.focus();
}
