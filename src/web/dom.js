// Building DOM nodes. Text always goes in through textContent and attributes through setAttribute, never as
// HTML, so names and descriptions from banks or users cannot inject markup.

const SVG_NS = "http://www.w3.org/2000/svg";

/** `el("p", { class: "hint", text: "…", data: { id } }, child, …)`. */
export function el(tag, options = {}, ...children) {
  return fill(document.createElement(tag), options, children);
}

export function svg(tag, options = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), options, children);
}

function fill(node, options, children) {
  const { class: className, text, data, attrs } = options;
  if (className) node.setAttribute("class", className);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(data ?? {})) node.dataset[name] = String(value);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** Show a message in an error/hint element, or hide it when the message is empty. */
export function showMessage(node, message) {
  node.textContent = message ?? "";
  node.hidden = !message;
}

/**
 * Go to an address the API gave (a bank's consent page), only when it is an http(s) URL: a `javascript:` or `data:`
 * link must never run in this page. Answers false (and stays) otherwise.
 */
export function leaveFor(link) {
  let url;
  try {
    url = new URL(String(link), window.location.href);
  } catch {
    return false;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  window.location.assign(url.href);
  return true;
}
