// Words a person understands for the banks' and the API's terms (issue 15, item 9): one mapping, used wherever a
// balance type or a transaction status is shown. The exact term stays on hover (`title`) and, where a person may
// need it (a balance's type), for screen readers too.

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

/** "Booked balance" for "closingBooked"; a term not known here is shown as it is rather than hidden. */
export function balanceTypeWord(type) {
  return (type && Object.hasOwn(BALANCE_TYPE_WORDS, type) ? BALANCE_TYPE_WORDS[type] : type) ?? "";
}

export function transactionStatusWord(status) {
  return Object.hasOwn(TRANSACTION_STATUS_WORDS, status) ? TRANSACTION_STATUS_WORDS[status] : status;
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
