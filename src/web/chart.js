// The balance-history chart: an SVG line drawn here (no library), sized to its container and redrawn when the
// container is resized, so the labels keep a readable size from a phone to a desktop.

import { el, svg } from "./dom.js";
import { formatAxisDay, formatAxisMoney, formatDay, formatMoney, parseDay } from "./format.js";
import { balanceTypeWord } from "./words.js";

const HEIGHT = 220;
const MARGIN = { top: 12, right: 16, bottom: 28, left: 76 };
// The bank may report several kinds of balance per day; one line shows one kind, the first of these it has.
const TYPE_PREFERENCE = ["closingBooked", "interimBooked", "expected", "interimAvailable", "closingAvailable"];

const drawn = new WeakMap();
const observer = typeof ResizeObserver === "function" ? new ResizeObserver(onResize) : null;

/**
 * Draw `snapshots` (`{as_of, type, amount, currency}`, any order) into `container`, or an empty state when fewer
 * than two days are known. `preferredType` (the type of the account's current balance) wins when present.
 */
export function renderBalanceChart(container, snapshots, { title, preferredType } = {}) {
  const series = pickSeries(snapshots, preferredType);
  drawn.set(container, { series, title });
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

function pickSeries(snapshots, preferredType) {
  const byType = new Map();
  for (const snapshot of snapshots) {
    if (!byType.has(snapshot.type)) byType.set(snapshot.type, []);
    byType.get(snapshot.type).push(snapshot);
  }
  const ranked = [preferredType, ...TYPE_PREFERENCE].find((type) => type && (byType.get(type)?.length ?? 0) >= 2);
  const type = ranked ?? [...byType.keys()].sort((a, b) => byType.get(b).length - byType.get(a).length)[0];
  const points = (byType.get(type) ?? []).slice().sort((a, b) => a.as_of.localeCompare(b.as_of));
  return { type, points };
}

function draw(container) {
  const state = drawn.get(container);
  const { points, type } = state.series;
  if (points.length < 2) {
    container.replaceChildren(
      el("p", { class: "chart-empty", text: "Not enough balance history for a chart yet: it needs two days or more." }),
    );
    return;
  }
  const width = Math.max(container.clientWidth || 640, 280);
  state.width = width;
  const currency = points[0].currency;
  const xs = points.map((point) => parseDay(point.as_of).getTime());
  const ys = points.map((point) => Number(point.amount));
  const [yLow, yHigh, yStep] = niceRange(Math.min(...ys), Math.max(...ys));
  const [xLow, xHigh] = [xs[0], xs[xs.length - 1]];
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (value) => MARGIN.left + ((value - xLow) / (xHigh - xLow)) * plotWidth;
  const y = (value) => MARGIN.top + (1 - (value - yLow) / (yHigh - yLow)) * plotHeight;

  const titleId = `${container.id}-title`;
  const descId = `${container.id}-desc`;
  const first = points[0];
  const last = points[points.length - 1];
  const summary =
    `From ${formatDay(first.as_of)} (${formatMoney(first.amount, currency)}) ` +
    `to ${formatDay(last.as_of)} (${formatMoney(last.amount, currency)}), ${points.length} days, ` +
    `${balanceTypeWord(type)} (bank term: ${type}).`;
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

  const longSpan = xHigh - xLow > 120 * 86_400_000;
  const tickCount = Math.max(2, Math.min(6, Math.floor(plotWidth / 90)));
  for (let index = 0; index < tickCount; index += 1) {
    const value = xLow + ((xHigh - xLow) * index) / (tickCount - 1);
    const anchor = index === 0 ? "start" : index === tickCount - 1 ? "end" : "middle";
    chart.append(
      svg("text", {
        class: "chart-label",
        attrs: { x: x(value), y: HEIGHT - 8, "text-anchor": anchor },
        text: formatAxisDay(new Date(value), longSpan),
      }),
    );
  }

  const coordinates = xs.map((value, index) => `${x(value).toFixed(1)},${y(ys[index]).toFixed(1)}`);
  const baseline = y(Math.max(yLow, Math.min(0, yHigh))).toFixed(1);
  chart.append(
    svg("path", {
      class: "chart-area",
      attrs: {
        d: `M${x(xLow).toFixed(1)},${baseline} L${coordinates.join(" L")} L${x(xHigh).toFixed(1)},${baseline} Z`,
      },
    }),
    svg("polyline", { class: "chart-line", attrs: { points: coordinates.join(" ") } }),
    svg("circle", { class: "chart-dot", attrs: { cx: x(xHigh), cy: y(ys[ys.length - 1]), r: 3.5 } }),
  );
  container.replaceChildren(chart, el("p", { class: "chart-caption", text: summary }));
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
