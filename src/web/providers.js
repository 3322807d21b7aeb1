// The bank-data providers the API names (`provider` on banks and connections, `providers` in `GET /api/meta`) as
// the page names them to people, and what a bank sends the person back with (the callback's `error` codes).

export const PROVIDER_NAMES = { gocardless: "GoCardless", enablebanking: "Enable Banking" };

export function providerName(provider) {
  return Object.hasOwn(PROVIDER_NAMES, provider) ? PROVIDER_NAMES[provider] : String(provider ?? "another provider");
}

/** The callback's fixed `error` codes (src/connections: service.py for GoCardless, enablebanking.py), in words. */
export const CALLBACK_MESSAGES = {
  unknown_reference: "That bank link is unknown or has already expired. Please connect the bank again.",
  already_used: "That bank link was already used; the connection is listed below.",
  gocardless_unavailable: "GoCardless could not be reached to finish connecting. Please try again in a moment.",
  enablebanking_unavailable: "Enable Banking could not be reached to finish connecting. Please try again in a moment.",
  consent_refused: "The bank connection was not completed: consent was refused at the bank.",
  access_denied: "The bank connection was not completed: consent was refused at the bank.",
};

// Anyone can send a link with `?status=rejected&error=<any text>`: only our own sentences are shown, and an unknown
// code only when it looks like one (so the banner cannot be made to say "call this number").
const ERROR_CODE = /^[a-z_]{1,40}$/;

/** `[message, kind]` for how a consent ended: the callback's redirect query, or the answer to a pasted address. */
export function callbackMessage({ status, error, jobId }) {
  if (status === "active") {
    return [jobId ? "Bank connected. The first sync has started: its progress shows on the connection's card." : "Bank connected.", "success"];
  }
  if (error && Object.hasOwn(CALLBACK_MESSAGES, error)) return [CALLBACK_MESSAGES[error], "error"];
  const code = error && ERROR_CODE.test(error) ? ` (code: ${error})` : "";
  if (status === "rejected") return [`The bank connection was not completed${code}.`, "error"];
  return [`Connecting the bank failed${code}.`, "error"];
}
