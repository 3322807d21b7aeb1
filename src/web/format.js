// Formatting in the user's locale and time zone. The API sends times as UTC ISO strings, days as YYYY-MM-DD and
// money as exact decimal strings; money is handed to Intl as the string itself, so no float rounding shows.

const locale = navigator.language || undefined;

const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium" });
const dayFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" });
const shortDayFormat = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone: "UTC" });
const monthFormat = new Intl.DateTimeFormat(locale, { month: "short", year: "2-digit", timeZone: "UTC" });
const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
const timeFormat = new Intl.DateTimeFormat(locale, { timeStyle: "short" });
const relativeFormat = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
const moneyFormats = new Map();

/** A calendar day (`2026-11-24`) as a Date at UTC midnight, so that formatting in UTC never shifts the day. */
export function parseDay(day) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date));
}

export function formatDay(day) {
  return dayFormat.format(parseDay(day));
}

/** A UTC-midnight Date as "24 Nov" (or "Nov 26" when `longSpan`, for axes that cover many months). */
export function formatAxisDay(dateValue, longSpan) {
  return (longSpan ? monthFormat : shortDayFormat).format(dateValue);
}

export function formatDate(iso) {
  return dateFormat.format(new Date(iso));
}

export function formatDateTime(iso) {
  return dateTimeFormat.format(new Date(iso));
}

export function formatTime(iso) {
  return timeFormat.format(new Date(iso));
}

/** Today in the user's time zone as YYYY-MM-DD, `offsetDays` away. */
export function localDay(offsetDays = 0) {
  const now = new Date();
  now.setDate(now.getDate() + offsetDays);
  const pad = (value) => String(value).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** "5 minutes ago", "yesterday", "just now". */
export function formatRelative(iso, now = Date.now()) {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

/** A time still to come ("in 3 hours"); one that has arrived is "due now" (the page may be older than the time). */
export function formatUpcoming(iso, now = Date.now()) {
  return new Date(iso).getTime() <= now ? "due now" : formatRelative(iso, now);
}

/** A moment soon: the time alone when it falls today, else the date and time. */
export function formatWhen(iso) {
  return new Date(iso).toDateString() === new Date().toDateString() ? formatTime(iso) : formatDateTime(iso);
}

function moneyFormat(currency, options = {}) {
  const key = `${currency ?? ""}|${JSON.stringify(options)}`;
  if (!moneyFormats.has(key)) {
    let format;
    try {
      format = currency
        ? new Intl.NumberFormat(locale, { style: "currency", currency, ...options })
        : new Intl.NumberFormat(locale, { minimumFractionDigits: 2, ...options });
    } catch {
      // Not an ISO 4217 code the browser knows: plain number; the code is shown beside it by the caller.
      format = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, ...options });
    }
    moneyFormats.set(key, format);
  }
  return moneyFormats.get(key);
}

/** An exact decimal string as money. Intl formats the string as it is (no conversion to a float). */
export function formatMoney(amount, currency) {
  return moneyFormat(currency).format(amount);
}

/** A compact money label for a chart axis (a number is fine there: it is a drawing, not a statement). */
export function formatAxisMoney(value, currency, fractionDigits) {
  return moneyFormat(currency, { maximumFractionDigits: fractionDigits, minimumFractionDigits: fractionDigits }).format(
    value,
  );
}

export function isNegative(amount) {
  return String(amount).trim().startsWith("-");
}
