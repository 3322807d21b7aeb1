// Renaming in place (an account's display name, a connection's friendly name): a Rename button that opens a small
// form with Save and Cancel. Enter saves, Escape cancels, and focus comes back to the Rename button. The lists are
// redrawn after every sync, so a name being typed is kept by `key` and the form drawn open again with it.

import { el, showMessage } from "./dom.js";

/** key → what is typed: forms open, across redraws. */
const drafts = new Map();

export function forgetRenames() {
  drafts.clear();
}

/**
 * The control for one name. `name`: the name shown now (for the button's label); `value`: what the field starts
 * with (the person's own name, empty when unset); `placeholder`: the name shown when it is cleared; `save(value)`
 * resolves once the list is redrawn with the new name, or throws (an ApiError: its sentence is shown as it is).
 */
export function renameControl({ key, name, value, label, placeholder, maxLength = 100, save }) {
  const id = `rename-${key.replace(/[^\w-]/g, "-")}`;
  const open = el("button", {
    class: "button-quiet rename-open",
    text: "Rename",
    attrs: { type: "button", "aria-label": `Rename ${name}`, "aria-expanded": "false", "aria-controls": id },
  });
  const input = el("input", {
    class: "rename-input",
    attrs: { id: `${id}-input`, type: "text", maxlength: String(maxLength), autocomplete: "off", placeholder },
  });
  const saveButton = el("button", { class: "rename-save", text: "Save", attrs: { type: "submit" } });
  const cancel = el("button", { class: "button-secondary rename-cancel", text: "Cancel", attrs: { type: "button" } });
  const error = el("p", { class: "form-error rename-error", attrs: { role: "alert", hidden: true } });
  const form = el(
    "form",
    { class: "rename-form", attrs: { id, hidden: true, "aria-label": label } },
    el("label", { attrs: { for: input.id }, text: label }),
    el("div", { class: "rename-row" }, input, saveButton, cancel),
    el("p", { class: "field-help", text: "Leave it empty to use the bank's name. Escape cancels." }),
    error,
  );
  const control = el("div", { class: "rename", data: { renameKey: key } }, open, form);

  const show = (editing) => {
    form.hidden = !editing;
    open.hidden = editing;
    open.setAttribute("aria-expanded", editing ? "true" : "false");
  };
  const close = () => {
    drafts.delete(key);
    showMessage(error, "");
    show(false);
    open.focus();
  };

  open.addEventListener("click", () => {
    input.value = value ?? "";
    drafts.set(key, input.value);
    show(true);
    input.focus();
    input.select();
  });
  input.addEventListener("input", () => drafts.set(key, input.value));
  cancel.addEventListener("click", close);
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    saveButton.disabled = true;
    form.setAttribute("aria-busy", "true");
    showMessage(error, "");
    // Not a draft any more: the redraw that shows the new name draws this form closed.
    drafts.delete(key);
    try {
      await save(input.value.trim());
    } catch (failure) {
      drafts.set(key, input.value);
      saveButton.disabled = false;
      form.setAttribute("aria-busy", "false");
      showMessage(error, failure.message);
      input.focus();
      return;
    }
    // The list was redrawn: focus goes to the new Rename button of the same item.
    const again = document.querySelector(`[data-rename-key="${CSS.escape(key)}"] .rename-open`);
    (again ?? open).focus();
  });

  if (drafts.has(key)) {
    // Redrawn while being edited (another connection's sync): open again with what was typed; focus, lost with
    // the old form, comes back to the field.
    input.value = drafts.get(key);
    show(true);
    queueMicrotask(() => {
      const lost = !document.activeElement || document.activeElement === document.body;
      if (input.isConnected && lost) input.focus();
    });
  }
  return control;
}
