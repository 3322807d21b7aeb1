// Totals per currency across the accounts shown: exact decimal sums (BigInt on the decimal strings the API sends, no
// float), one per currency, since money in different currencies is never added together.

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** The exact sum of decimal strings ("12.30", "-0.5" → "11.80"), or null when one is not a decimal. */
export function sumDecimals(amounts) {
  const parsed = [];
  let scale = 0;
  for (const amount of amounts) {
    const match = DECIMAL.exec(String(amount).trim());
    if (!match || !(match[2] || match[3])) return null;
    parsed.push(match);
    scale = Math.max(scale, (match[3] ?? "").length);
  }
  let total = 0n;
  for (const [, sign, whole, fraction = ""] of parsed) {
    const units = BigInt(`${whole || "0"}${fraction.padEnd(scale, "0")}`);
    total += sign === "-" ? -units : units;
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/**
 * `[{currency, amount, count}]`, by currency code, from the accounts' current balances (`balance.amount` in
 * `balance.currency`, else the account's currency). `missing`: how many of the accounts have no balance yet.
 */
export function totalsByCurrency(accounts) {
  const byCurrency = new Map();
  let missing = 0;
  for (const account of accounts) {
    const balance = account.balance;
    if (!balance) {
      missing += 1;
      continue;
    }
    const currency = balance.currency ?? account.currency ?? "";
    if (!byCurrency.has(currency)) byCurrency.set(currency, []);
    byCurrency.get(currency).push(balance.amount);
  }
  const totals = [...byCurrency.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([currency, amounts]) => ({ currency, amount: sumDecimals(amounts), count: amounts.length }))
    .filter((total) => total.amount !== null);
  return { totals, missing };
}
