// The transactions table: filters that map one to one onto `GET /api/transactions` query parameters, and keyset
// paging ("Load more" passes the page's `next_cursor` back as `cursor`, appending rows). Over the table, the count
// and the sums per currency of the whole filtered list, from `GET /api/transactions/summary` with the same filters
// (never added up here: the page holds only the rows loaded so far). A row opens its details on demand.

import { api } from "./api.js";
import { $, el, showMessage } from "./dom.js";
import { formatDay, formatMoney, isNegative } from "./format.js";
import { transactionStatusLabel, transactionStatusWord } from "./words.js";

const PAGE_SIZE = 50;
// A size as the API takes it: digits, at most 8 after the point, no sign (the direction says which way).
const SIZE = /^(\d{1,16}(\.\d{0,8})?|\.\d{1,8})$/;
const FILTER_FIELDS = ["#tx-from", "#tx-to", "#tx-status", "#tx-direction", "#tx-superseded", "#tx-min", "#tx-max"];
const countFormat = new Intl.NumberFormat(navigator.language || undefined);

let accountsById = new Map();
let nextCursor = null;
// The filters that produced the rows shown (and `nextCursor`): "Load more" continues exactly that list, whatever the
// form says now, so pages of different filters are never mixed.
let lastQuery = null;
// Every load takes a number; only the newest may write the table, so an older answer arriving late is dropped.
let generation = 0;
// The count line's own number: "Load more" leaves it alone (same filters), new filters or a sign-out move it on.
let summaryGeneration = 0;
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
  for (const id of FILTER_FIELDS) {
    $(id).addEventListener("change", () => loadTransactions());
  }
  $("#tx-clear").addEventListener("click", () => clearFilters());
  // A row opens (and closes) its details on a click anywhere in it. From the keyboard, its payee is a disclosure
  // button (Tab, then Enter or Space): a table row itself may not carry aria-expanded, only a control in it.
  $("#tx-table tbody").addEventListener("click", (event) => {
    const target = event.target.closest("tr.tx");
    if (target && !event.target.closest("a")) toggleDetails(target);
  });
  $("#tx-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    // From the first key the rows shown answer an older search: dimmed and busy now, during the pause before the
    // request (350 ms, so that typing a word asks once), not only once it is sent.
    $("#tx-table").setAttribute("aria-busy", "true");
    setStale(true);
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
  summaryGeneration += 1;
  nextCursor = null;
  lastQuery = null;
  $("#tx-table tbody").replaceChildren();
  $("#tx-filters").reset();
  $("#load-more").hidden = true;
  $("#load-more").disabled = false;
  $("#tx-table").setAttribute("aria-busy", "false");
  setStale(false);
  $("#tx-empty").hidden = true;
  $("#tx-summary").replaceChildren();
  showMessage($("#tx-error"), "");
}

/** Every filter back to its default (all accounts, any date, status, direction and size, no search), then the
 * list for that. Focus goes to the search box, the filter people change most. */
function clearFilters() {
  clearTimeout(searchTimer);
  const hadAccount = Boolean($("#tx-account").value);
  $("#tx-filters").reset();
  showMessage($("#tx-error"), "");
  $("#tx-search").focus();
  // The account filter is the page's selected account: clearing it goes through the page (which reloads the list).
  if (hadAccount) onAccountChange(null);
  else loadTransactions();
}

function setStale(stale) {
  for (const node of [$("#tx-table"), $("#tx-summary"), $("#tx-empty")]) node.classList.toggle("tx-stale", stale);
}

function filters() {
  const query = {
    account_id: $("#tx-account").value,
    date_from: $("#tx-from").value,
    date_to: $("#tx-to").value,
    status: $("#tx-status").value,
    direction: $("#tx-direction").value,
    q: $("#tx-search").value.trim(),
  };
  if ($("#tx-superseded").checked) query.include_superseded = "true";
  for (const [name, id, label] of [
    ["min_size", "#tx-min", "Min size"],
    ["max_size", "#tx-max", "Max size"],
  ]) {
    const raw = $(id).value.trim().replace(",", ".");
    if (!raw) continue;
    if (!SIZE.test(raw)) {
      throw new Error(`${label}: enter an amount without a sign, such as 20.00 (choose Money in or out for a direction).`);
    }
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
    query = { ...lastQuery, cursor: nextCursor, limit: PAGE_SIZE };
  } else {
    try {
      query = { ...filters(), limit: PAGE_SIZE };
    } catch (error) {
      showMessage($("#tx-error"), error.message);
      $("#tx-table").setAttribute("aria-busy", "false"); // nothing is loading: the form needs mending first
      setStale(false);
      return;
    }
  }
  const current = ++generation;
  // Disabling the button drops its focus; it gets it back (or hands it on) once the page is in.
  const hadFocus = document.activeElement === loadMore;
  loadMore.disabled = true;
  $("#tx-table").setAttribute("aria-busy", "true");
  // New filters: the rows, the count and any "no matches" shown are the old filters' until the answer replaces them.
  if (!append) {
    setStale(true);
    loadSummary(query, ++summaryGeneration);
  }
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
      $("#tx-table").classList.remove("tx-stale");
      $("#tx-empty").classList.remove("tx-stale");
      if (hadFocus) keepFocus(loadMore, appended);
    }
  }
}

/** The count and the sums per currency of the whole list for `listing` (its filters, not its paging). */
async function loadSummary(listing, current) {
  const line = $("#tx-summary");
  try {
    const summary = await api("/api/transactions/summary", {
      query: {
        account_id: listing.account_id,
        date_from: listing.date_from,
        date_to: listing.date_to,
        status: listing.status,
        direction: listing.direction,
        min_size: listing.min_size,
        max_size: listing.max_size,
        include_superseded: listing.include_superseded,
        q: listing.q,
      },
    });
    if (current !== summaryGeneration) return;
    line.replaceChildren(...summaryLine(summary));
  } catch {
    if (current !== summaryGeneration) return;
    line.replaceChildren(); // the list's own error says what went wrong
  } finally {
    if (current === summaryGeneration) line.classList.remove("tx-stale");
  }
}

/** "2,969 transactions · +€48,211.50 / −€45,102.37 · +SEK 0.00 / −SEK 2,310.00": each currency on its own. */
function summaryLine(summary) {
  const count = summary.count;
  const parts = [
    el("span", {
      class: "tx-summary-count",
      text: `${countFormat.format(count)} ${count === 1 ? "transaction" : "transactions"}`,
    }),
  ];
  for (const total of summary.totals) {
    const moneyOut = isNegative(total.amount_out)
      ? formatMoney(total.amount_out, total.currency)
      : `−${formatMoney(total.amount_out, total.currency)}`;
    parts.push(
      " · ",
      el(
        "span",
        {
          class: "tx-summary-total",
          attrs: { title: `${total.currency}: ${total.count} transactions, net ${total.net}` },
        },
        el("span", { class: "amount positive", text: `+${formatMoney(total.amount_in, total.currency)}` }),
        " / ",
        el("span", { class: "amount negative", text: moneyOut }),
      ),
    );
  }
  return parts;
}

/** Open a row's details below it (fetched the first time), or close them. */
async function toggleDetails(txRow) {
  const toggle = txRow.querySelector("button.tx-open");
  const open = toggle.getAttribute("aria-expanded") === "true";
  const detailId = `tx-detail-${txRow.dataset.transactionId}`;
  const detailRow = document.getElementById(detailId);
  txRow.classList.toggle("tx-open-row", !open);
  if (open) {
    toggle.setAttribute("aria-expanded", "false");
    if (detailRow) detailRow.hidden = true;
    return;
  }
  toggle.setAttribute("aria-expanded", "true");
  if (detailRow) {
    detailRow.hidden = false;
    return;
  }
  const cell = el("td", { attrs: { colspan: 5 } }, el("p", { class: "muted", text: "Loading details…" }));
  const created = el("tr", { class: "tx-detail", attrs: { id: detailId } }, cell);
  txRow.after(created);
  toggle.setAttribute("aria-controls", detailId);
  try {
    const detail = await api(`/api/transactions/${txRow.dataset.transactionId}`);
    cell.replaceChildren(detailList(detail));
  } catch (error) {
    cell.replaceChildren(el("p", { class: "form-error", text: error.message }));
    created.dataset.failed = "true";
  }
}

function detailList(detail) {
  const entries = [
    ["Booking date", formatDay(detail.booking_date)],
    ["Value date", detail.value_date ? formatDay(detail.value_date) : "Not given by the bank"],
    ["Amount", `${formatMoney(detail.amount, detail.currency)} (${detail.amount} ${detail.currency})`],
    ["Counterparty account", detail.counterparty_account],
    ["Bank's transaction id", detail.transaction_id],
    ["Bank's internal id", detail.internal_transaction_id],
    ["Entry reference", detail.entry_reference],
    ["Booked from", detail.booked_from ? pendingOrigin(detail.booked_from) : null],
    ["Booked since as", detail.booked_as_id ? `transaction ${detail.booked_as_id}` : null],
    ["finsync id", String(detail.id)],
  ];
  return el(
    "dl",
    { class: "tx-detail-list" },
    ...entries
      .filter(([, value]) => value !== null && value !== undefined && value !== "")
      .flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })]),
  );
}

function pendingOrigin(pending) {
  const day = formatDay(pending.value_date ?? pending.booking_date);
  return `the pending item of ${day}, ${formatMoney(pending.amount, pending.currency)} (transaction ${pending.id})`;
}

/** After "Load more": focus stays on the button, or, once the list is complete and it is hidden, moves to the first
 * row it added (the table when none), instead of falling back to the top of the page. */
function keepFocus(loadMore, firstNewRow) {
  if (!loadMore.hidden) {
    loadMore.focus();
    return;
  }
  const target = firstNewRow?.querySelector("button.tx-open") ?? $("#tx-table");
  if (!target.matches("button") && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
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
    {
      class: `tx tx-${transaction.status}`,
      data: { transactionId: transaction.id },
    },
    el("td", { class: "tx-date" }, date, estimated),
    el(
      "td",
      { class: "tx-text" },
      el(
        "button",
        { class: "tx-open", attrs: { type: "button", "aria-expanded": "false", title: "Show the details" } },
        el("span", { class: "tx-counterparty", text: counterparty || description || "—" }),
      ),
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
