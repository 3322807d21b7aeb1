// The transactions table: filters that map one to one onto `GET /api/transactions` query parameters, and keyset
// paging ("Load more" passes the page's `next_cursor` back as `cursor`, appending rows).

import { api } from "./api.js";
import { $, el, showMessage } from "./dom.js";
import { formatDay, formatMoney, isNegative } from "./format.js";
import { transactionStatusLabel, transactionStatusWord } from "./words.js";

const PAGE_SIZE = 50;
const AMOUNT = /^-?\d+(\.\d+)?$/;

let accountsById = new Map();
let nextCursor = null;
// The filters that produced the rows shown (and `nextCursor`): "Load more" continues exactly that list, whatever the
// form says now, so pages of different filters are never mixed.
let lastQuery = null;
// Every load takes a number; only the newest may write the table, so an older answer arriving late is dropped.
let generation = 0;
let onAccountChange = () => {};
let searchTimer = null;

export function setUpTransactions(callbacks) {
  onAccountChange = callbacks.onAccountChange ?? onAccountChange;
  const form = $("#tx-filters");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadTransactions();
  });
  $("#tx-account").addEventListener("change", () => onAccountChange($("#tx-account").value || null));
  for (const id of ["#tx-from", "#tx-to", "#tx-status", "#tx-superseded", "#tx-min", "#tx-max"]) {
    $(id).addEventListener("change", () => loadTransactions());
  }
  $("#tx-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => loadTransactions(), 350);
  });
  $("#load-more").addEventListener("click", () => loadTransactions({ append: true }));
  // The status filter says the same words as the rows, the API's term on hover.
  for (const option of $("#tx-status").options) {
    if (!option.value) continue;
    option.textContent = transactionStatusWord(option.value);
    option.title = `Status: ${option.value}`;
  }
}

/** Fill the account filter, keeping the chosen account when it still exists. */
export function setTransactionAccounts(accounts, accountLabel) {
  accountsById = new Map(accounts.map((account) => [account.id, accountLabel(account)]));
  const select = $("#tx-account");
  const chosen = select.value;
  select.replaceChildren(
    el("option", { attrs: { value: "" }, text: "All accounts" }),
    ...accounts.map((account) => el("option", { attrs: { value: account.id }, text: accountLabel(account) })),
  );
  select.value = accountsById.has(chosen) ? chosen : "";
}

export function setTransactionAccount(accountId) {
  $("#tx-account").value = accountId ?? "";
}

export function resetTransactions() {
  generation += 1; // a load under way belongs to the session that ended
  nextCursor = null;
  lastQuery = null;
  $("#tx-table tbody").replaceChildren();
  $("#tx-filters").reset();
  $("#load-more").hidden = true;
  $("#load-more").disabled = false;
  $("#tx-table").setAttribute("aria-busy", "false");
  $("#tx-empty").hidden = true;
  showMessage($("#tx-error"), "");
}

function filters() {
  const query = {
    account_id: $("#tx-account").value,
    date_from: $("#tx-from").value,
    date_to: $("#tx-to").value,
    status: $("#tx-status").value,
    q: $("#tx-search").value.trim(),
    limit: PAGE_SIZE,
  };
  if ($("#tx-superseded").checked) query.include_superseded = "true";
  for (const [name, id, label] of [
    ["min_amount", "#tx-min", "Min amount"],
    ["max_amount", "#tx-max", "Max amount"],
  ]) {
    const raw = $(id).value.trim().replace(",", ".");
    if (!raw) continue;
    if (!AMOUNT.test(raw)) throw new Error(`${label}: enter a number such as -100.00.`);
    query[name] = raw;
  }
  return query;
}

/** Load the first page for the current filters, or (`append`) the next page of the list shown. */
export async function loadTransactions({ append = false } = {}) {
  clearTimeout(searchTimer);
  const tbody = $("#tx-table tbody");
  const loadMore = $("#load-more");
  let query;
  if (append) {
    if (!nextCursor || !lastQuery) return;
    query = { ...lastQuery, cursor: nextCursor };
  } else {
    try {
      query = filters();
    } catch (error) {
      showMessage($("#tx-error"), error.message);
      return;
    }
  }
  const current = ++generation;
  // Disabling the button drops its focus; it gets it back (or hands it on) once the page is in.
  const hadFocus = document.activeElement === loadMore;
  loadMore.disabled = true;
  $("#tx-table").setAttribute("aria-busy", "true");
  let appended = null;
  try {
    const page = await api("/api/transactions", { query });
    if (current !== generation) return; // a newer request (other filters) answers instead
    showMessage($("#tx-error"), "");
    const rows = page.items.map((item) => row(item, query));
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
    appended = rows[0] ?? null;
    if (!append) lastQuery = query; // a first page's query has no cursor
    nextCursor = page.next_cursor ?? null;
    loadMore.hidden = nextCursor === null;
    const empty = $("#tx-empty");
    const filtered = Object.keys(query).some((name) => !["limit", "cursor"].includes(name) && query[name]);
    empty.textContent = filtered
      ? "No transactions match these filters."
      : "No transactions yet. They appear once a connected bank has synced.";
    empty.hidden = tbody.childElementCount > 0;
  } catch (error) {
    if (current !== generation) return;
    showMessage($("#tx-error"), error.message);
    if (!append) {
      // The rows shown belong to other filters than the form's now: clear them rather than pass them off as the
      // answer. (A failed "Load more" keeps its rows and cursor, so it can be tried again.)
      tbody.replaceChildren();
      nextCursor = null;
      lastQuery = null;
      loadMore.hidden = true;
      $("#tx-empty").hidden = true;
    }
  } finally {
    if (current === generation) {
      loadMore.disabled = false;
      $("#tx-table").setAttribute("aria-busy", "false");
      if (hadFocus) keepFocus(loadMore, appended);
    }
  }
}

/** After "Load more": focus stays on the button, or, once the list is complete and it is hidden, moves to the first
 * row it added (the table when none), instead of falling back to the top of the page. */
function keepFocus(loadMore, firstNewRow) {
  if (!loadMore.hidden) {
    loadMore.focus();
    return;
  }
  const target = firstNewRow ?? $("#tx-table");
  target.setAttribute("tabindex", "-1");
  target.focus();
}

function row(transaction, query) {
  const negative = isNegative(transaction.amount);
  const counterparty = transaction.counterparty_name;
  const description = transaction.description;
  // The account is named when the list is of all accounts (by the query, not the form, which may have changed).
  const account = query.account_id ? null : accountsById.get(transaction.account_id);
  const date = el("time", { attrs: { datetime: transaction.booking_date }, text: formatDay(transaction.booking_date) });
  const estimated = transaction.date_is_estimated
    ? el("span", { class: "estimated", text: " (est.)", attrs: { title: "The bank gave no date: first seen then." } })
    : null;
  return el(
    "tr",
    { class: `tx tx-${transaction.status}`, data: { transactionId: transaction.id } },
    el("td", { class: "tx-date" }, date, estimated),
    el(
      "td",
      { class: "tx-text" },
      el("span", { class: "tx-counterparty", text: counterparty || description || "—" }),
      counterparty && description ? el("span", { class: "tx-description", text: description }) : null,
      account ? el("span", { class: "tx-account", text: account }) : null,
    ),
    el(
      "td",
      { class: "num" },
      el("span", {
        class: `amount ${negative ? "negative" : "positive"}`,
        text: formatMoney(transaction.amount, transaction.currency),
      }),
    ),
    el("td", { class: "tx-currency", text: transaction.currency }),
    el("td", { class: "tx-status" }, statusBadge(transaction)),
  );
}

function statusBadge(transaction) {
  if (transaction.status === "pending") {
    const replaced = transaction.booked_as_id !== null && transaction.booked_as_id !== undefined;
    const badge = transactionStatusLabel("pending", { className: "badge badge-pending" });
    if (replaced) badge.append(" (cleared since)");
    return badge;
  }
  if (transaction.status === "void") return transactionStatusLabel("void", { className: "badge badge-muted" });
  return transactionStatusLabel(transaction.status, { className: "tx-booked" });
}
