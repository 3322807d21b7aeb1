// Words a person understands for the banks' and the API's terms (issue 15, item 9): one mapping, used wherever a
// balance type, a transaction status, or a connection's or an account's status is shown. The exact term stays on
// hover (`title`) and, where a person may need it (a balance's type), for screen readers too.

import { el } from "./dom.js";

// GoCardless (Berlin Group) names and the ISO 20022 codes Enable Banking reports. Booked: what has cleared;
// available: what can be spent (pending items and overdraft taken into account, as the bank counts it).
export const BALANCE_TYPE_WORDS = {
  closingBooked: "Booked balance",
  interimBooked: "Booked balance so far today",
  openingBooked: "Opening booked balance",
  previouslyClosedBooked: "Previous booked balance",
  expected: "Expected balance",
  interimAvailable: "Available balance",
  closingAvailable: "Available balance at day end",
  openingAvailable: "Opening available balance",
  forwardAvailable: "Available balance to come",
  nonInvoiced: "Not yet invoiced",
  information: "Balance for information",
  CLBD: "Booked balance",
  ITBD: "Booked balance so far today",
  OPBD: "Opening booked balance",
  PRCD: "Previous booked balance",
  XPCD: "Expected balance",
  ITAV: "Available balance",
  CLAV: "Available balance at day end",
  OPAV: "Opening available balance",
  FWAV: "Available balance to come",
  INFO: "Balance for information",
};

// A transaction's `status` as the API reports it.
export const TRANSACTION_STATUS_WORDS = {
  booked: "Cleared",
  pending: "Pending",
  void: "Dropped by the bank",
};

// A connection's `status` (src/models/enums.py `ConnectionStatus`).
export const CONNECTION_STATUS_WORDS = {
  pending: "Waiting for your consent",
  active: "Connected",
  rejected: "Refused at the bank",
  expired: "Consent ended",
  suspended: "Paused by the bank",
  error: "Not working",
};

// An account's `status` (src/models/enums.py `AccountStatus`); an active account says nothing (it is the usual case).
export const ACCOUNT_STATUS_WORDS = {
  processing: "Being set up by the bank",
  active: "In use",
  expired: "Access ended",
  suspended: "Paused by the bank",
  error: "Not readable",
};

/** "Booked balance" for "closingBooked"; a term not known here is shown as it is rather than hidden. */
export function balanceTypeWord(type) {
  return (type && Object.hasOwn(BALANCE_TYPE_WORDS, type) ? BALANCE_TYPE_WORDS[type] : type) ?? "";
}

export function transactionStatusWord(status) {
  return wordFor(TRANSACTION_STATUS_WORDS, status);
}

export function connectionStatusWord(status) {
  return wordFor(CONNECTION_STATUS_WORDS, status);
}

export function accountStatusWord(status) {
  return wordFor(ACCOUNT_STATUS_WORDS, status);
}

function wordFor(words, term) {
  return Object.hasOwn(words, term) ? words[term] : term;
}

/**
 * The word in a span whose `title` gives the exact term; `spoken`: screen readers hear the term too (a visually
 * hidden "(closingBooked)"), where it tells a person what their bank calls it.
 */
export function termLabel(word, term, { className = "term", spoken = false } = {}) {
  if (!term || word === term) return el("span", { class: className, text: word });
  return el(
    "span",
    { class: className, data: { term }, attrs: { title: `Bank term: ${term}` } },
    word,
    spoken ? el("span", { class: "visually-hidden", text: ` (bank term: ${term})` }) : null,
  );
}

export function balanceTypeLabel(type, options = {}) {
  return termLabel(balanceTypeWord(type), type, options);
}

export function transactionStatusLabel(status, options = {}) {
  return termLabel(transactionStatusWord(status), status, options);
}

/** The term on hover reads "Status: expired" (not "Bank term": it is finsync's own status). */
export function connectionStatusLabel(status, options = {}) {
  return statusLabel(connectionStatusWord(status), status, options);
}

export function accountStatusLabel(status, options = {}) {
  return statusLabel(accountStatusWord(status), status, options);
}

function statusLabel(word, status, { className = "term" } = {}) {
  if (!status || word === status) return el("span", { class: className, text: word ?? "" });
  return el("span", { class: className, data: { term: status }, attrs: { title: `Status: ${status}` } }, word);
}
