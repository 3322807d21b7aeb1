// A connection's recent syncs, folded on its card and read when unfolded: each says who started it (the background
// sync or the person's Sync now: a job's `trigger`), how it ended and when.

import { api } from "./api.js";
import { el } from "./dom.js";
import { formatDateTime } from "./format.js";

const HISTORY_LENGTH = 5;

export const TRIGGER_NAMES = { manual: "Sync now", scheduled: "Background sync" };

const STATUS_WORDS = {
  pending: "waiting to start",
  running: "under way",
  completed: "synced",
  failed: "failed",
  canceled: "canceled",
};

/**
 * The folded list. `open`: unfolded already (it stays so across the card's redraws, and is read again then);
 * `onToggle(open)` remembers that; `stillCurrent()` is false once the session has ended (its answer is dropped).
 */
export function jobHistory(connectionId, { open, onToggle, stillCurrent }) {
  const list = el("ol", { class: "job-history-list" });
  const details = el(
    "details",
    { class: "job-history", attrs: { open } },
    el("summary", { text: "Recent syncs" }),
    list,
  );
  let request = 0;
  // Also fired once for a panel drawn open, so it is read there too.
  details.addEventListener("toggle", async () => {
    onToggle(details.open);
    if (!details.open) return;
    const current = ++request;
    list.setAttribute("aria-busy", "true");
    let items;
    try {
      const page = await api("/api/jobs", {
        query: { entity_type: "connection", entity_id: connectionId, limit: HISTORY_LENGTH },
      });
      items = page.items.length ? page.items.map(entry) : [el("li", { text: "No syncs yet." })];
    } catch (error) {
      items = [el("li", { class: "job-error", text: `Recent syncs could not be read: ${error.message}` })];
    }
    if (current !== request || !stillCurrent()) return;
    list.replaceChildren(...items);
    list.setAttribute("aria-busy", "false");
  });
  return details;
}

function entry(job) {
  const when = job.completed_at ?? job.started_at ?? job.created_at;
  const failed = job.status === "failed" && job.error_message ? `: ${job.error_message}` : "";
  return el(
    "li",
    { data: { trigger: job.trigger, jobStatus: job.status } },
    el("span", { class: "trigger", text: TRIGGER_NAMES[job.trigger] ?? job.trigger }),
    ` · ${STATUS_WORDS[job.status] ?? job.status}${failed} · `,
    el("time", { attrs: { datetime: when }, text: formatDateTime(when) }),
  );
}
