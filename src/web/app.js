// The finsync reference page: sign in, connect a bank, sync, and read accounts, balances and transactions, all
// through the public REST API. Entry point: the other modules hold the API client, formatting and each section.

import {
  api,
  ApiError,
  getMeta,
  logIn,
  logOut,
  maySessionExist,
  refreshSession,
  register,
  SERVER_NOT_ANSWERING,
  setSignedOutHandler,
} from "./api.js";
import { renderBalanceChart, renderChartMessage } from "./chart.js";
import {
  awaitPastedRedirect,
  connectionName,
  currentConnections,
  enableRenewButtons,
  followJob,
  forgetPastedRedirect,
  loadConnections,
  refreshRelativeTimes,
  resetConnections,
  resumeUnfinishedJobs,
  setUpConnections,
} from "./connections.js";
import { createBankPicker, rememberCountry, rememberedCountry } from "./bankpicker.js";
import { $, el, leaveFor, showMessage } from "./dom.js";
import { formatDateTime, formatMoney, isNegative } from "./format.js";
import { callbackMessage, providerName } from "./providers.js";
import { renameControl } from "./rename.js";
import { totalsByCurrency } from "./totals.js";
import {
  loadTransactions,
  resetTransactions,
  setTransactionAccount,
  setTransactionAccounts,
  setUpTransactions,
} from "./transactions.js";
import { accountStatusLabel, balanceTypeLabel } from "./words.js";

// EU/EEA countries and the UK, where GoCardless Bank Account Data reaches banks.
const COUNTRIES = [
  "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IS", "IE", "IT", "LV", "LI",
  "LT", "LU", "MT", "NL", "NO", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "GB",
];
const DEFAULT_COUNTRY = "GB";

let accounts = [];
let meta = null;
let selectedAccountId = null;
let pendingCallback = null;
let signedInView = false;
let institutionsRequest = 0;
let bankPicker = null;
let accountsRequest = 0;
// Bumped whenever a session ends (showSignIn, signing out). Each request notes it first and drops its answer when it
// has changed: a request of the previous user that completes after sign-out must not draw into the page.
let sessionEpoch = 0;

// -- notices -------------------------------------------------------------------------------------------------------

/** Say something at the top of the page; it stays until dismissed or replaced by the next message. */
function notify(message, kind = "info") {
  const bar = $("#notice-bar");
  $("#notice").textContent = message;
  bar.dataset.kind = kind;
  bar.hidden = !message;
}

/** Dismiss: the banner goes (until a new message) and focus moves to the page's main region, not lost on <body>. */
function dismissNotice() {
  notify("");
  $("#main").focus();
}

/** The bank sends the user back to `/?status=…&connection_id=…&error=…&job_id=…`: say what happened, then tidy
 * the address bar so a reload does not repeat the message. */
function takeCallbackParams() {
  const params = new URLSearchParams(window.location.search);
  if (!params.has("status")) return null;
  const callback = {
    status: params.get("status"),
    connectionId: params.get("connection_id"),
    error: params.get("error"),
    jobId: params.get("job_id"),
  };
  notify(...callbackMessage(callback));
  // The bank brought the person back: no address to paste for this connection any more.
  if (callback.connectionId && callback.status !== "error") forgetPastedRedirect(callback.connectionId);
  for (const name of ["status", "connection_id", "error", "job_id"]) params.delete(name);
  const query = params.toString();
  const address = `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`;
  window.history.replaceState(null, "", address);
  return callback;
}

// -- views ---------------------------------------------------------------------------------------------------------

function showSignIn(message = "") {
  signedInView = false;
  sessionEpoch += 1;
  resetConnections();
  resetTransactions();
  resetConnectFold();
  accounts = [];
  selectedAccountId = null;
  $("#accounts").replaceChildren();
  $("#hidden-accounts-list").replaceChildren();
  $("#hidden-accounts").hidden = true;
  $("#account-totals").replaceChildren();
  $("#account-totals").hidden = true;
  $("#account-detail").hidden = true;
  $("#loading").hidden = true;
  $("#app").hidden = true;
  $("#session").hidden = true;
  $("#signed-in-as").textContent = "";
  $("#auth").hidden = false;
  showMessage($("#auth-error"), message);
  setAuthBusy(false);
  prefillDemoAccount();
  const email = $("#email");
  (email.value ? $("#password") : email).focus();
}

/** `focusMain` after signing in: the button that had focus is gone with the form, so focus goes to the content. */
async function showApp({ focusMain = false } = {}) {
  const epoch = sessionEpoch;
  signedInView = true;
  showMessage($("#auth-error"), "");
  // The content is shown once it is all there ("Loading…" until then): drawn section by section, each one would
  // push the ones below it down as it arrives (a layout shift, the page jumping under the reader's eyes).
  $("#loading").hidden = false;
  $("#auth").hidden = true;
  $("#session").hidden = false;
  if (focusMain) $("#main").focus();
  const reveal = () => {
    $("#loading").hidden = true;
    $("#app").hidden = false;
  };
  try {
    const me = await api("/auth/me");
    if (epoch !== sessionEpoch) return;
    $("#signed-in-as").textContent = me.email;
  } catch (error) {
    if (epoch !== sessionEpoch) return;
    if (!(error instanceof ApiError && error.status === 401)) {
      reveal();
      notify(error.message, "error");
    }
    return;
  }
  loadInstitutions();
  await afterSync();
  if (epoch !== sessionEpoch) return;
  reveal();
  const callback = pendingCallback;
  pendingCallback = null;
  if (callback?.jobId && callback.connectionId) followJob(callback.connectionId, callback.jobId);
  resumeUnfinishedJobs().catch(() => {});
}

function onSessionEnded() {
  if (signedInView) showSignIn("Your session has ended. Please sign in again.");
}

// -- sign in -------------------------------------------------------------------------------------------------------

function setAuthBusy(busy) {
  $("#login").disabled = busy;
  $("#register").disabled = busy;
  $("#auth-form").setAttribute("aria-busy", busy ? "true" : "false");
}

function credentials() {
  return { email: $("#email").value.trim(), password: $("#password").value };
}

/** Run the sign-in steps with the form busy; on success clear the password and open the signed-in view. */
async function authenticate(steps, welcome = "") {
  setAuthBusy(true);
  showMessage($("#auth-error"), "");
  try {
    await steps();
  } catch (error) {
    setAuthBusy(false);
    showMessage($("#auth-error"), error.message);
    return;
  }
  $("#password").value = "";
  setAuthBusy(false);
  if (welcome) notify(welcome, "success");
  await showApp({ focusMain: true });
}

async function signIn(event) {
  event.preventDefault();
  const { email, password } = credentials();
  if (!email || !password) {
    showMessage($("#auth-error"), "Enter your e-mail address and password.");
    return;
  }
  await authenticate(() => logIn(email, password));
}

async function createAccount() {
  const { email, password } = credentials();
  if (!email) {
    showMessage($("#auth-error"), "Enter the e-mail address to register.");
    return;
  }
  if (password.length < 10) {
    showMessage($("#auth-error"), "Choose a password of at least 10 characters.");
    return;
  }
  await authenticate(async () => {
    await register(email, password);
    await logIn(email, password);
  }, "Account created. Welcome to finsync!");
}

async function signOut() {
  signedInView = false;
  // End the session in the page before the network: answers still under way are dropped from here on, and the
  // polls stop now rather than run (and refresh) while the session is being revoked.
  sessionEpoch += 1;
  resetConnections();
  $("#signed-in-as").textContent = "";
  await logOut();
  notify("");
  showSignIn();
}

async function loadMeta() {
  try {
    meta = await getMeta();
  } catch {
    return;
  }
  const badge = $("#env-badge");
  if (meta.environment !== "production" || meta.gocardless === "sandbox") {
    badge.textContent = meta.gocardless === "sandbox" ? `${meta.environment} · sandbox bank` : meta.environment;
    badge.hidden = false;
  }
  if (!$("#auth").hidden) prefillDemoAccount();
  showProviderProblems(meta.providers ?? []);
}

/** A provider finsync cannot use right now says why, next to the connect form; the other one's banks still work. */
function showProviderProblems(providers) {
  const troubled = providers.filter((provider) => provider.problem);
  const fine = providers.filter((provider) => !provider.problem).map((provider) => providerName(provider.name));
  const sentences = troubled.map(
    (provider) => `${providerName(provider.name)} cannot be used right now: ${provider.problem}`,
  );
  if (troubled.length && fine.length) {
    sentences.push(`Banks reached through ${fine.join(" or ")} can still be connected.`);
  }
  showMessage($("#provider-problems"), sentences.join(" "));
}

/** On a development stack the demo account fills an empty form (or the demo address left from signing out). */
function prefillDemoAccount() {
  const demo = meta?.demo_account;
  const email = $("#email");
  const password = $("#password");
  if (demo && !password.value && (!email.value || email.value === demo.email)) {
    email.value = demo.email;
    password.value = demo.password;
  }
  updateDemoHint();
}

function updateDemoHint() {
  const demo = meta?.demo_account;
  $("#auth-hint").hidden = !(demo && $("#email").value === demo.email && $("#password").value === demo.password);
}

// -- connecting a bank ---------------------------------------------------------------------------------------------

function fillCountries() {
  const names =
    typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames([navigator.language], { type: "region" }) : null;
  const options = COUNTRIES.map((code) => ({ code, name: names?.of(code) ?? code }));
  options.sort((a, b) => a.name.localeCompare(b.name));
  $("#country").replaceChildren(
    ...options.map(({ code, name }) => el("option", { attrs: { value: code }, text: `${name} (${code})` })),
  );
  $("#country").value = rememberedCountry(window.localStorage, COUNTRIES, DEFAULT_COUNTRY);
}

function onCountryChange() {
  rememberCountry(window.localStorage, $("#country").value);
  loadInstitutions();
}

async function loadInstitutions() {
  const country = $("#country").value;
  const epoch = sessionEpoch;
  const current = ++institutionsRequest;
  bankPicker.showMessage("Loading banks…", { busy: true });
  showMessage($("#connect-error"), "");
  try {
    const page = await api("/api/institutions", { query: { country } });
    if (current !== institutionsRequest || epoch !== sessionEpoch) return;
    // Each bank with its `id`, `name` and `provider` (and its logo at /api/institutions/{id}/logo); none chosen.
    bankPicker.setBanks(page.items);
  } catch (error) {
    if (current !== institutionsRequest || epoch !== sessionEpoch) return;
    bankPicker.showMessage("Banks could not be loaded");
    const prefix = error.status === 502 || error.status === 503 ? "The bank list is unavailable right now: " : "";
    showMessage($("#connect-error"), `${prefix}${error.message}`);
  }
}

async function connectBank(event) {
  event.preventDefault();
  const institutionId = bankPicker.value();
  if (!institutionId) {
    showMessage($("#connect-error"), "Choose a bank first.");
    bankPicker.focus();
    return;
  }
  const friendlyName = $("#friendly-name").value.trim();
  const epoch = sessionEpoch;
  $("#connect").disabled = true;
  showMessage($("#connect-error"), "");
  let answer;
  try {
    answer = await api("/api/connections", {
      method: "POST",
      json: { institution_id: institutionId, friendly_name: friendlyName || null },
    });
  } catch (error) {
    if (epoch !== sessionEpoch) return;
    $("#connect").disabled = false;
    showMessage($("#connect-error"), error.message);
    return;
  }
  if (epoch !== sessionEpoch) return; // signed out meanwhile: do not take the next user to this consent page
  // The bank may be unable to send the person back here: their connection's card offers to paste the address.
  if (answer.paste_redirect) awaitPastedRedirect(answer.connection.id);
  if (!leaveFor(answer.link)) {
    $("#connect").disabled = false;
    showMessage($("#connect-error"), "The bank's consent address is not valid; please try again.");
  }
}

/** Back from the bank with the browser's Back button, the page comes from the back/forward cache as it was left:
 * Connect (and Renew consent) still disabled. Enable them again; Connect only when the bank list is there. */
function onPageShow(event) {
  if (!event.persisted) return;
  $("#connect").disabled = !bankPicker.value();
  enableRenewButtons();
  // The connection started before leaving is pending now (and may take a pasted address): list it.
  if (signedInView) refreshConnections();
}

// -- connections, accounts, balances -------------------------------------------------------------------------------

async function refreshConnections() {
  const epoch = sessionEpoch;
  try {
    await loadConnections();
  } catch (error) {
    if (epoch === sessionEpoch) notify(`Connections could not be loaded: ${error.message}`, "error");
  }
  if (epoch === sessionEpoch) updateConnectFold();
}

// -- daily use first: the connect form folds away once a bank is connected -----------------------------------------

/** Opened with "Connect another bank": it stays open (across the redraws after syncs) until closed the same way. */
let connectFormOpened = false;

function updateConnectFold() {
  const connected = currentConnections().length > 0;
  const folded = connected && !connectFormOpened;
  $("#connect-card").hidden = folded;
  const toggle = $("#connect-toggle");
  toggle.hidden = !connected;
  toggle.setAttribute("aria-expanded", folded ? "false" : "true");
  // On a phone the totals and transactions come first once there is something to show (style.css).
  $("#app").classList.toggle("has-connections", connected);
}

/** Until the connections are known, neither the form nor its button: no form flashing by before it folds. */
function resetConnectFold() {
  connectFormOpened = false;
  $("#connect-card").hidden = true;
  $("#connect-toggle").hidden = true;
  $("#app").classList.remove("has-connections");
}

/** A disclosure: opening moves focus into the form (its first field), closing leaves it on the button. */
function toggleConnectForm() {
  connectFormOpened = $("#connect-toggle").getAttribute("aria-expanded") !== "true";
  updateConnectFold();
  if (connectFormOpened) $("#country").focus();
}

function accountLabel(account) {
  return account.display_name || account.name || account.iban || "Account";
}

async function refreshAccounts() {
  const epoch = sessionEpoch;
  const current = ++accountsRequest;
  let page;
  try {
    page = await api("/api/accounts");
  } catch (error) {
    if (epoch === sessionEpoch) notify(`Accounts could not be loaded: ${error.message}`, "error");
    return;
  }
  if (current !== accountsRequest || epoch !== sessionEpoch) return;
  accounts = page.items;
  if (selectedAccountId && !accounts.some((account) => account.id === selectedAccountId)) selectedAccountId = null;
  renderAccounts();
  setTransactionAccounts(accounts, accountLabel);
  setTransactionAccount(selectedAccountId);
  if (selectedAccountId) loadChart();
  else $("#account-detail").hidden = true;
}

/** Visible accounts in the grid with their totals; hidden ones folded away below it (their data keeps syncing). */
function renderAccounts() {
  const connectionNames = new Map(currentConnections().map((item) => [item.id, connectionName(item)]));
  const visible = accounts.filter((account) => !account.hidden);
  const hidden = accounts.filter((account) => account.hidden);
  $("#accounts").replaceChildren(...visible.map((account) => accountCard(account, connectionNames)));
  $("#hidden-accounts-list").replaceChildren(...hidden.map((account) => accountCard(account, connectionNames)));
  $("#hidden-accounts-summary").textContent =
    hidden.length === 1 ? "1 hidden account" : `${hidden.length} hidden accounts`;
  $("#hidden-accounts").hidden = hidden.length === 0;
  const empty = $("#accounts-empty");
  empty.textContent = accounts.length
    ? "Every account is hidden. Show one again from the hidden accounts below."
    : "No accounts yet. They appear after the first sync.";
  empty.hidden = visible.length > 0;
  renderTotals(visible);
}

/** The sum of the visible accounts' current balances, one per currency (never added across currencies). */
function renderTotals(visible) {
  const node = $("#account-totals");
  const { totals, missing } = totalsByCurrency(visible);
  const parts = totals.map(({ currency, amount, count }) =>
    el(
      "span",
      {
        class: isNegative(amount) ? "total amount negative" : "total amount",
        data: { currency },
        attrs: { title: count === 1 ? "1 account" : `${count} accounts` },
      },
      formatMoney(amount, currency || null),
    ),
  );
  const note = missing
    ? el("span", {
        class: "totals-note",
        text: missing === 1 ? "(1 account has no balance yet)" : `(${missing} accounts have no balance yet)`,
      })
    : null;
  node.replaceChildren(
    el("span", { class: "totals-label", text: visible.length === 1 ? "Total" : "Total across accounts shown" }),
    ...parts,
    ...(note ? [note] : []), // `replaceChildren` (unlike `el`) would write a missing node as the text "null"
  );
  node.hidden = totals.length === 0;
}

function accountCard(account, connectionNames) {
  const selected = account.id === selectedAccountId;
  const balance = account.balance;
  const currency = balance?.currency ?? account.currency;
  const label = accountLabel(account);
  const article = el("article", {
    class: `card account${selected ? " selected" : ""}${account.hidden ? " hidden-account" : ""}`,
    data: { accountId: account.id },
    attrs: { "aria-current": selected ? "true" : null },
  });
  const select = el(
    "button",
    { class: "account-select", attrs: { type: "button", "aria-pressed": selected ? "true" : "false" } },
    el("span", { class: "account-name", text: label }),
  );
  const hide = el("button", {
    class: "button-quiet account-hide",
    text: account.hidden ? "Show" : "Hide",
    attrs: {
      type: "button",
      "aria-label": account.hidden ? `Show ${label} again` : `Hide ${label}`,
      title: account.hidden ? "Show it with the other accounts and in the totals." : "Its data keeps syncing.",
    },
  });
  const hideError = el("p", { class: "form-error hide-error", attrs: { role: "alert", hidden: true } });
  hide.addEventListener("click", () => setHidden(account, !account.hidden, hide, hideError));
  // `append` (unlike `el`) would write a missing node (no balance yet) as the text "null": filtered out.
  const parts = [
    el("h3", { class: "account-title" }, select),
    el("p", { class: "account-meta" }, ...accountMeta(account, connectionNames)),
    el(
      "p",
      { class: "balance" },
      balance
        ? el("span", {
            class: isNegative(balance.amount) ? "amount negative" : "amount",
            text: formatMoney(balance.amount, currency),
          })
        : el("span", { class: "muted", text: "No balance yet" }),
    ),
    balance
      ? el(
          "p",
          { class: "balance-detail" },
          balance.type ? balanceTypeLabel(balance.type, { className: "balance-type", spoken: true }) : null,
          balance.type && balance.as_of ? " · " : null,
          balance.as_of ? `as of ${formatDateTime(balance.as_of)}` : null,
        )
      : null,
    el(
      "div",
      { class: "account-manage" },
      renameControl({
        key: `account:${account.id}`,
        name: label,
        value: account.display_name ?? "",
        label: "Your name for this account",
        placeholder: account.name || account.iban || "Account",
        save: (value) => updateAccount(account.id, { display_name: value }),
      }),
      hide,
      hideError,
    ),
  ];
  article.append(...parts.filter(Boolean));
  // The card selects its account; its own controls (rename, hide) do not.
  article.addEventListener("click", (event) => {
    if (!event.target.closest(".account-manage")) selectAccount(account.id);
  });
  return article;
}

/** `PATCH /api/accounts/{id}`. Only the person's own settings are taken from the answer: it carries the full IBAN,
 * which the list (masked) does not show. */
async function updateAccount(accountId, changes) {
  const epoch = sessionEpoch;
  const answer = await api(`/api/accounts/${encodeURIComponent(accountId)}`, { method: "PATCH", json: changes });
  if (epoch !== sessionEpoch) return;
  accounts = accounts.map((account) =>
    account.id === answer.id ? { ...account, display_name: answer.display_name, hidden: answer.hidden } : account,
  );
  renderAccounts();
  setTransactionAccounts(accounts, accountLabel);
  setTransactionAccount(selectedAccountId);
  const selected = accounts.find((account) => account.id === selectedAccountId);
  if (selected) $("#chart-title").textContent = `Balance history — ${accountLabel(selected)}`;
}

/** Hide an account (it leaves the list and the totals, and keeps syncing) or show it again. Focus follows it: to the
 * folded list's summary after hiding, to its Hide button after showing. */
async function setHidden(account, hidden, button, error) {
  button.disabled = true;
  showMessage(error, "");
  try {
    await updateAccount(account.id, { hidden });
  } catch (failure) {
    button.disabled = false;
    showMessage(error, failure.message);
    return;
  }
  const label = accountLabel(account);
  if (hidden) {
    notify(`${label} is hidden: it is left out of the totals and keeps syncing.`, "success");
    $("#hidden-accounts-summary").focus();
  } else {
    notify(`${label} is shown again.`, "success");
    const card = [...document.querySelectorAll("#accounts article.account")].find(
      (item) => item.dataset.accountId === account.id,
    );
    card?.querySelector(".account-hide")?.focus();
  }
}

function accountMeta(account, connectionNames) {
  const parts = [];
  if (account.iban) parts.push(el("span", { class: "iban", text: account.iban }));
  if (account.currency) parts.push(el("span", { class: "currency", text: account.currency }));
  const bank = connectionNames.get(account.connection_id);
  if (bank) parts.push(el("span", { class: "account-bank", text: bank }));
  if (account.status !== "active") parts.push(accountStatusLabel(account.status, { className: "badge badge-muted" }));
  if (account.hidden) parts.push(el("span", { class: "badge badge-muted", text: "hidden" }));
  return parts;
}

function selectAccount(accountId) {
  selectedAccountId = accountId;
  for (const card of document.querySelectorAll("#accounts article.account, #hidden-accounts-list article.account")) {
    const on = card.dataset.accountId === accountId;
    card.classList.toggle("selected", on);
    if (on) card.setAttribute("aria-current", "true");
    else card.removeAttribute("aria-current");
    card.querySelector(".account-select")?.setAttribute("aria-pressed", on ? "true" : "false");
  }
  setTransactionAccount(accountId);
  loadTransactions();
  if (accountId) loadChart();
  else $("#account-detail").hidden = true;
}

async function loadChart() {
  const epoch = sessionEpoch;
  const accountId = selectedAccountId;
  const account = accounts.find((item) => item.id === accountId);
  const container = $("#balance-chart");
  $("#account-detail").hidden = false;
  $("#chart-title").textContent = `Balance history — ${account ? accountLabel(account) : "account"}`;
  container.setAttribute("aria-busy", "true");
  try {
    // Every day from the history's first (the API derives them from the bank's balance and the transactions), in
    // one answer: no query, the whole history.
    const page = await api(`/api/accounts/${encodeURIComponent(accountId)}/balances/daily`);
    if (accountId !== selectedAccountId || epoch !== sessionEpoch) return;
    renderBalanceChart(container, page.items, {
      title: `Balance of ${account ? accountLabel(account) : "the account"}`,
    });
  } catch (error) {
    if (accountId === selectedAccountId && epoch === sessionEpoch) {
      renderChartMessage(container, `The balance history could not be loaded: ${error.message}`);
    }
  } finally {
    container.setAttribute("aria-busy", "false");
  }
}

/** Reload what a sync (or a deletion) changes. Connections first: account cards name their bank. Accounts before
 * transactions: when the selected account is gone (its connection deleted), refreshAccounts clears the account
 * filter, and only then may the transactions be asked for (else they would ask for the deleted account: 404). */
async function afterSync() {
  const epoch = sessionEpoch;
  await refreshConnections();
  if (epoch !== sessionEpoch) return;
  // As before (allSettled): a failure in one does not stop the next; API errors are reported where they occur.
  await refreshAccounts().catch(() => {});
  if (epoch !== sessionEpoch) return;
  await loadTransactions().catch(() => {});
}

// -- start ---------------------------------------------------------------------------------------------------------

async function start() {
  setSignedOutHandler(onSessionEnded);
  setUpConnections($("#connections"), $("#connections-empty"), {
    onSynced: () => afterSync(),
    onChanged: () => afterSync(),
    onRenamed: () => renderAccounts(),
    notify,
  });
  setUpTransactions({ onAccountChange: (accountId) => selectAccount(accountId) });
  bankPicker = createBankPicker({
    search: $("#institution"),
    list: $("#bank-list"),
    count: $("#bank-count"),
    onChange: (institutionId) => {
      $("#connect").disabled = !institutionId;
    },
  });
  fillCountries();
  $("#auth-form").addEventListener("submit", signIn);
  $("#register").addEventListener("click", createAccount);
  $("#email").addEventListener("input", updateDemoHint);
  $("#password").addEventListener("input", updateDemoHint);
  $("#logout").addEventListener("click", signOut);
  $("#country").addEventListener("change", onCountryChange);
  $("#connect-form").addEventListener("submit", connectBank);
  $("#chart-close").addEventListener("click", () => selectAccount(null));
  $("#connect-toggle").addEventListener("click", toggleConnectForm);
  $("#notice-dismiss").addEventListener("click", dismissNotice);
  window.addEventListener("pageshow", onPageShow);
  setInterval(refreshRelativeTimes, 30_000);

  pendingCallback = takeCallbackParams();
  const metaLoaded = loadMeta();
  // Signed out (no session marker): straight to the form, without a refresh the API would refuse with a 401.
  const restored = maySessionExist() ? await refreshSession() : "signed-out";
  if (restored === "renewed") {
    await showApp();
  } else {
    await metaLoaded;
    // Only a refused refresh token means "not signed in"; otherwise the server is in trouble, and says so.
    showSignIn(restored === "unavailable" ? SERVER_NOT_ANSWERING : "");
  }
}

start();

