// The balance-history chart: an SVG line drawn here (no library), sized to its container and redrawn when the
// container is resized, so the labels keep a readable size from a phone to a desktop.
//
// It draws the API's daily balances (GET /api/accounts/{id}/balances/daily): every day from the first sync on,
// derived from the bank's latest booked balance and the booked transactions (docs/ARCHITECTURE.md, "Daily
// balances"). The days the bank reported a booked balance are points on the line; where the bank's figure and the
// transactions disagree, the point stands off the line, joined to it, and a sentence says by how much. Amounts stay
// the API's exact strings in every text; numbers only place pixels.

import { el, svg } from "./dom.js";
import { formatAxisDay, formatAxisMoney, formatDay, formatMoney, isNegative, parseDay } from "./format.js";
import { balanceTypeWord } from "./words.js";

const HEIGHT = 220;
const MARGIN = { top: 12, right: 16, bottom: 28, left: 76 };
const DAY_MS = 86_400_000;

const drawn = new WeakMap();
const observer = typeof ResizeObserver === "function" ? new ResizeObserver(onResize) : null;

/**
 * Draw `days` (`{date, amount, currency, derived, reported, drift}`, oldest first) into `container`. No days: the
 * bank has reported no booked balance to count from yet, and the chart says so.
 */
export function renderBalanceChart(container, days, { title } = {}) {
  drawn.set(container, { days: days.slice().sort((a, b) => a.date.localeCompare(b.date)), title });
  observer?.observe(container);
  draw(container);
}

export function renderChartMessage(container, message) {
  drawn.delete(container);
  observer?.unobserve(container);
  container.replaceChildren(el("p", { class: "chart-empty", text: message }));
}

function onResize(entries) {
  for (const entry of entries) {
    const state = drawn.get(entry.target);
    if (state && Math.abs((state.width ?? 0) - entry.target.clientWidth) > 8) draw(entry.target);
  }
}

/** "Bank reported €1,050.25 on 5 Mar 2026; the transactions give €1,030.25, €20.00 less." */
export function driftSentence(day) {
  const gap = String(day.drift).replace(/^[-+]/, "");
  const direction = isNegative(day.drift) ? "more" : "less";
  return (
    `Bank reported ${formatMoney(day.reported, day.currency)} on ${formatDay(day.date)}; ` +
    `the transactions give ${formatMoney(day.amount, day.currency)}, ${formatMoney(gap, day.currency)} ${direction}. ` +
    "A transaction may be missing or changed in what the bank lets us read."
  );
}

function draw(container) {
  const state = drawn.get(container);
  const { days } = state;
  if (days.length === 0) {
    container.replaceChildren(
      el("p", {
        class: "chart-empty",
        text:
          "No balance history yet: the bank has not reported a booked balance for this account, " +
          "so there is nothing to count the transactions from.",
      }),
    );
    return;
  }
  const width = Math.max(container.clientWidth || 640, 280);
  state.width = width;
  const currency = days[0].currency;
  const reported = days.filter((day) => day.reported !== null && day.reported !== undefined);
  const drifts = reported.filter((day) => day.drift !== null && day.drift !== undefined);
  const xs = days.map((day) => parseDay(day.date).getTime());
  const ys = days.map((day) => Number(day.amount));
  const [yLow, yHigh, yStep] = niceRange(
    Math.min(...ys, ...reported.map((day) => Number(day.reported))),
    Math.max(...ys, ...reported.map((day) => Number(day.reported))),
  );
  // One day alone still gets an axis: a day either side.
  const [xLow, xHigh] = xs.length > 1 ? [xs[0], xs[xs.length - 1]] : [xs[0] - DAY_MS, xs[0] + DAY_MS];
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (value) => MARGIN.left + ((value - xLow) / (xHigh - xLow)) * plotWidth;
  const y = (value) => MARGIN.top + (1 - (value - yLow) / (yHigh - yLow)) * plotHeight;

  const titleId = `${container.id}-title`;
  const descId = `${container.id}-desc`;
  const first = days[0];
  const last = days[days.length - 1];
  const anchor = reported.filter((day) => !day.derived).pop();
  const booked = balanceTypeWord("closingBooked").toLowerCase();
  const from = anchor
    ? `counted from the bank's ${booked} of ${formatMoney(anchor.reported, currency)} on ${formatDay(anchor.date)}`
    : `counted from the bank's ${booked}`;
  const summary =
    `From ${formatDay(first.date)} (${formatMoney(first.amount, currency)}) ` +
    `to ${formatDay(last.date)} (${formatMoney(last.amount, currency)}), ${days.length} ${plural(days.length, "day")}: ` +
    `derived, ${from} through the booked transactions. ` +
    `The bank reported ${reported.length} of these days (the points); ` +
    (drifts.length
      ? `${drifts.length} ${plural(drifts.length, "differs", "differ")} from the transactions.`
      : "every one agrees with the transactions.");
  const chart = svg("svg", {
    class: "chart-svg",
    attrs: {
      width,
      height: HEIGHT,
      viewBox: `0 0 ${width} ${HEIGHT}`,
      role: "img",
      "aria-labelledby": `${titleId} ${descId}`,
    },
  });
  chart.append(
    svg("title", { attrs: { id: titleId }, text: state.title ?? "Balance history" }),
    svg("desc", { attrs: { id: descId }, text: summary }),
  );

  const fractionDigits = yStep >= 1 ? 0 : 2;
  for (let value = yLow; value <= yHigh + yStep / 2; value += yStep) {
    const top = y(value);
    chart.append(
      svg("line", {
        class: Math.abs(value) < yStep / 1e6 ? "chart-grid chart-zero" : "chart-grid",
        attrs: { x1: MARGIN.left, x2: width - MARGIN.right, y1: top, y2: top },
      }),
      svg("text", {
        class: "chart-label",
        attrs: { x: MARGIN.left - 8, y: top, "text-anchor": "end", "dominant-baseline": "middle" },
        text: formatAxisMoney(value, currency, fractionDigits),
      }),
    );
  }

  const longSpan = xHigh - xLow > 120 * DAY_MS;
  const tickCount = Math.max(2, Math.min(6, Math.floor(plotWidth / 90)));
  for (let index = 0; index < tickCount; index += 1) {
    const value = xLow + ((xHigh - xLow) * index) / (tickCount - 1);
    const anchorSide = index === 0 ? "start" : index === tickCount - 1 ? "end" : "middle";
    chart.append(
      svg("text", {
        class: "chart-label",
        attrs: { x: x(value), y: HEIGHT - 8, "text-anchor": anchorSide },
        text: formatAxisDay(new Date(value), longSpan),
      }),
    );
  }

  const coordinates = xs.map((value, index) => `${x(value).toFixed(1)},${y(ys[index]).toFixed(1)}`);
  const baseline = y(Math.max(yLow, Math.min(0, yHigh))).toFixed(1);
  const [areaStart, areaEnd] = [x(xs[0]).toFixed(1), x(xs[xs.length - 1]).toFixed(1)];
  chart.append(
    svg("path", {
      class: "chart-area",
      attrs: { d: `M${areaStart},${baseline} L${coordinates.join(" L")} L${areaEnd},${baseline} Z` },
    }),
    svg("polyline", { class: "chart-line", attrs: { points: coordinates.join(" ") } }),
  );
  // The bank's own figures: a point on the line where it agrees; off it, joined to the line, where it drifts.
  for (const day of reported) {
    const cx = x(parseDay(day.date).getTime());
    const drifted = day.drift !== null && day.drift !== undefined;
    const said = `Bank reported ${formatMoney(day.reported, currency)} on ${formatDay(day.date)}`;
    if (drifted) {
      chart.append(
        svg("line", {
          class: "chart-drift-gap",
          attrs: { x1: cx, x2: cx, y1: y(Number(day.amount)), y2: y(Number(day.reported)) },
        }),
      );
    }
    chart.append(
      svg(
        "circle",
        {
          class: drifted ? "chart-reported chart-drift" : "chart-reported",
          attrs: { cx, cy: y(Number(day.reported)), r: drifted ? 4.5 : 3.5, "data-date": day.date },
        },
        svg("title", { text: drifted ? driftSentence(day) : `${said}, as the transactions give.` }),
      ),
    );
  }

  const parts = [chart, el("p", { class: "chart-caption", text: summary })];
  if (drifts.length) {
    parts.push(
      el(
        "ul",
        { class: "chart-drifts", attrs: { "aria-label": "Where the bank's balance and the transactions differ" } },
        ...drifts.map((day) => el("li", { data: { date: day.date }, text: driftSentence(day) })),
      ),
    );
  }
  container.replaceChildren(...parts);
}

function plural(count, one, many = `${one}s`) {
  return count === 1 ? one : many;
}

/** Axis bounds on round numbers with about four steps between them. */
function niceRange(low, high) {
  if (low === high) {
    const pad = Math.abs(low) > 0 ? Math.abs(low) * 0.05 : 1;
    [low, high] = [low - pad, high + pad];
  }
  const raw = (high - low) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= raw);
  return [Math.floor(low / step) * step, Math.ceil(high / step) * step, step];
}
