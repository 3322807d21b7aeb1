// What the background sync does for an active connection, said on its card (`background_sync` of
// GET /api/connections): when it next reads the bank, the bank reads left today, and whether Sync now has one left.
// Banks count reads per account and scope; a person asks "how many syncs are left", so the card says the fewest and
// most left across the connection's accounts for the two scopes a sync spends (details are read about weekly).

import { el } from "./dom.js";
import { formatDateTime, formatUpcoming, formatWhen } from "./format.js";

const SHOWN_SCOPES = ["transactions", "balances"];

// Why the reads are few, in plain words. GoCardless counts the person's Sync now against the same allowance, so
// finsync keeps one; Enable Banking's banks do not count a read the person is present for (src/ingest/quota.py).
const QUOTA_SENTENCES = {
  gocardless:
    "Banks allow about four reads a day per account; finsync spreads them over the day and keeps one for your " +
    "Sync now.",
  enablebanking:
    "Banks allow about four background reads a day per account; finsync spreads them over the day, and your own " +
    "Sync now does not count against them.",
};

/** A scope as of `now`: an allowance whose reset has passed is whole again (the page may be older than the reset). */
function current(state, now) {
  const reset = state.resets_at && Date.parse(state.resets_at) <= now;
  return reset ? { ...state, remaining: state.limit, resets_at: null } : state;
}

function scopesNamed(connection, scope, now) {
  return (connection.background_sync?.accounts ?? [])
    .map((account) => account.scopes.find((item) => item.scope === scope))
    .filter(Boolean)
    .map((state) => current(state, now));
}

/** "transactions 2 of 4", or "transactions 1–3 of 4" when its accounts differ. */
function scopeSummary(connection, scope, now) {
  const states = scopesNamed(connection, scope, now);
  if (!states.length) return null;
  const left = states.map((state) => state.remaining);
  const [fewest, most] = [Math.min(...left), Math.max(...left)];
  const limit = Math.max(...states.map((state) => state.limit));
  return `${scope} ${fewest === most ? fewest : `${fewest}–${most}`} of ${limit}`;
}

function timeNode(iso, text) {
  return el("time", { attrs: { datetime: iso, title: formatDateTime(iso) }, text });
}

/** The card's facts about the background sync (`dt`/`dd` pairs), none for a connection it does not read. */
export function backgroundFacts(connection, now = Date.now()) {
  const plan = connection.background_sync;
  if (!plan) return [];
  const facts = [
    el("dt", { text: "Next background sync" }),
    el(
      "dd",
      { class: "next-sync" },
      el("time", {
        attrs: { datetime: plan.next_sync_at, title: formatDateTime(plan.next_sync_at) },
        data: { upcoming: "" },
        text: formatUpcoming(plan.next_sync_at, now),
      }),
      ` (${formatDateTime(plan.next_sync_at)})`,
    ),
  ];
  const summaries = SHOWN_SCOPES.map((scope) => scopeSummary(connection, scope, now)).filter(Boolean);
  if (!summaries.length) return facts; // no accounts yet: their first sync discovers them
  const back = SHOWN_SCOPES.flatMap((scope) => scopesNamed(connection, scope, now))
    .filter((state) => state.remaining < state.limit && state.resets_at)
    .map((state) => state.resets_at)
    .sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  facts.push(
    el("dt", { text: "Bank reads left today" }),
    el(
      "dd",
      { class: "bank-reads" },
      summaries.join(", "),
      plan.accounts.length > 1 ? " per account" : null,
      back ? [" — back at ", timeNode(back, formatWhen(back))] : null,
    ),
  );
  return facts;
}

/** One plain sentence on why the reads are few, for a connection the background sync reads. */
export function quotaHelp(connection) {
  if (!connection.background_sync) return null;
  const sentence = QUOTA_SENTENCES[connection.provider] ?? QUOTA_SENTENCES.gocardless;
  return el("p", { class: "quota-help", text: sentence });
}

/**
 * Until when Sync now would be refused (429 `rate_limited`), or null: every account has no transactions read left
 * and its reset is still to come (the API's rule, src/jobs/service.py `rate_limited_until`: GoCardless accounts
 * only, since Enable Banking's banks do not count the person's own read), or a 429 said so (`refusedUntil`).
 */
export function syncBlockedUntil(connection, refusedUntil, now = Date.now()) {
  const times = [];
  if (refusedUntil && Date.parse(refusedUntil) > now) times.push(refusedUntil);
  const accounts = connection.background_sync?.accounts ?? [];
  if (connection.provider === "gocardless" && accounts.length) {
    const resets = accounts.map((account) => {
      const state = account.scopes.find((item) => item.scope === "transactions");
      const blocked = state && state.remaining <= 0 && state.resets_at && Date.parse(state.resets_at) > now;
      return blocked ? state.resets_at : null;
    });
    if (resets.every(Boolean)) times.push(resets.sort((a, b) => Date.parse(a) - Date.parse(b))[0]);
  }
  return times.sort((a, b) => Date.parse(b) - Date.parse(a))[0] ?? null;
}

/** Why Sync now is off, and when it comes back (the same words for a 429 and for the reads the card knows of). */
export function syncBlockedReason(until) {
  return [
    "Rate limited until ",
    timeNode(until, formatWhen(until)),
    ": the bank allows no more reads until then.",
  ];
}
