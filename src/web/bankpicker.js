// The bank picker of "Connect a bank": a search field over a list of radio buttons, one per bank of the country,
// each with its logo (served by finsync: GET /api/institutions/{id}/logo), name and provider. Nothing is chosen
// until the person chooses; typing filters by name, accents and case ignored ("wisla" finds "Bank Wisła"). Native
// radio buttons give the keyboard and screen-reader behaviour: Tab into the list, arrows to move and choose.
// The last country chosen is remembered in localStorage and selected on the next visit.
//
// Nothing here touches the document when the module is loaded, so its pure functions run under node (the
// contract tests call them).

import { el } from "./dom.js";
import { providerName } from "./providers.js";

const COUNTRY_KEY = "finsync.country";

// The letters NFD does not take apart, spelled plainly: the transactions search folds the same way
// (FOLD_LETTERS and FOLD_PAIRS in src/models/transactions.py).
const PLAIN_LETTERS = { ø: "o", ł: "l", đ: "d", ð: "d", ħ: "h", ı: "i", ŧ: "t", ß: "ss", æ: "ae", œ: "oe", þ: "th" };
const UNSPLIT = /[øłđðħıŧßæœþ]/g;

/** `text` lower-cased, accents dropped and special letters spelled plainly: "Nordsjö Łódź" → "nordsjo lodz". */
export function foldForSearch(text) {
  return String(text ?? "")
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(UNSPLIT, (letter) => PLAIN_LETTERS[letter]);
}

/** True when every word of the query is found in the bank's name (folded): "thist bank" finds "Thistle Bank". */
export function matchesQuery(name, query) {
  const words = foldForSearch(query).split(/\s+/).filter(Boolean);
  const folded = foldForSearch(name);
  return words.every((word) => folded.includes(word));
}

/** Up to two initials for a bank without a logo: "Albion Building Society" → "AB". */
export function initials(name) {
  const letters = String(name ?? "")
    .split(/\s+/)
    .map((word) => word.match(/[\p{L}\p{N}]/u)?.[0] ?? "")
    .join("");
  return letters.slice(0, 2).toUpperCase() || "?";
}

/** The remembered country when it is one of `countries`, else `fallback` (storage disabled or unreadable too). */
export function rememberedCountry(storage, countries, fallback) {
  try {
    const code = storage?.getItem(COUNTRY_KEY);
    return countries.includes(code) ? code : fallback;
  } catch {
    return fallback;
  }
}

export function rememberCountry(storage, code) {
  try {
    storage?.setItem(COUNTRY_KEY, code);
  } catch {
    // Storage disabled or full: the page still works, it only forgets the country.
  }
}

/**
 * Wire the picker into its elements: `search` (the labelled search field), `list` (the radio group) and `count` (a
 * polite live region saying how many banks are shown). `onChange(id)` is called with the chosen bank's id, or
 * null when there is none. Answers `{ setBanks, showMessage, value, focus }`.
 */
export function createBankPicker({ search, list, count, onChange = () => {} }) {
  let banks = [];
  let chosen = null;

  function option(bank) {
    const radio = el("input", {
      attrs: { type: "radio", name: "institution", value: bank.id },
      data: { provider: bank.provider },
    });
    radio.addEventListener("change", () => {
      chosen = radio.checked ? bank.id : chosen;
      onChange(chosen);
    });
    const logo = el("img", {
      class: "bank-logo",
      attrs: { src: `/api/institutions/${encodeURIComponent(bank.id)}/logo`, alt: "", loading: "lazy", width: 32, height: 32 },
    });
    const fallback = el("span", { class: "bank-logo bank-initials", attrs: { "aria-hidden": "true" }, text: initials(bank.name) });
    fallback.hidden = true;
    logo.addEventListener("error", () => {
      logo.hidden = true;
      fallback.hidden = false;
    });
    return el(
      "label",
      { class: "bank-option", data: { institutionId: bank.id, provider: bank.provider } },
      radio,
      logo,
      fallback,
      el("span", { class: "bank-name", text: bank.name }),
      el("span", { class: "bank-provider", text: providerName(bank.provider) }),
    );
  }

  function applyFilter() {
    const query = search.value;
    let shown = 0;
    for (const node of list.children) {
      const bank = node.bankData;
      // The chosen bank stays in sight whatever the search: the person sees what Connect will use.
      const visible = bank.id === chosen || matchesQuery(bank.name, query);
      node.hidden = !visible;
      if (visible) shown += 1;
    }
    const total = banks.length;
    const noun = total === 1 ? "bank" : "banks";
    if (!query.trim()) count.textContent = `${total} ${noun}`;
    else if (shown === 0) count.textContent = `No bank matches “${query.trim()}”`;
    else count.textContent = `${shown} of ${total} ${noun} match “${query.trim()}”`;
  }

  function visibleRadios() {
    return [...list.querySelectorAll("input[type=radio]")].filter((radio) => !radio.closest(".bank-option").hidden);
  }

  search.addEventListener("input", applyFilter);
  search.addEventListener("keydown", (event) => {
    const radios = visibleRadios();
    if (event.key === "ArrowDown" && radios.length) {
      event.preventDefault();
      (radios.find((radio) => radio.checked) ?? radios[0]).focus();
    } else if (event.key === "Enter" && !chosen) {
      // Enter picks the only match; with several, it takes the person to the list instead of submitting.
      event.preventDefault();
      if (radios.length === 1) {
        radios[0].checked = true;
        radios[0].dispatchEvent(new Event("change"));
      } else if (radios.length) {
        radios[0].focus();
      }
    }
  });

  return {
    /** Show these banks (as `GET /api/institutions` lists them), none chosen. */
    setBanks(items) {
      banks = items;
      chosen = null;
      list.replaceChildren(
        ...items.map((bank) => {
          const node = option(bank);
          node.bankData = bank;
          return node;
        }),
      );
      search.disabled = items.length === 0;
      list.setAttribute("aria-busy", "false");
      if (items.length === 0) count.textContent = "No banks available in this country";
      else applyFilter();
      onChange(null);
    },
    /** No list: a sentence instead ("Loading banks…", "Banks could not be loaded"). */
    showMessage(message, { busy = false } = {}) {
      banks = [];
      chosen = null;
      list.replaceChildren();
      list.setAttribute("aria-busy", String(busy));
      search.disabled = true;
      count.textContent = message;
      onChange(null);
    },
    value() {
      return chosen;
    },
    focus() {
      search.focus();
    },
  };
}
