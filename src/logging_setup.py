"""Structured logs: one line per record, `key=value` pairs after the message.

Callers pass context with `extra={"connection_id": …, "account_id": …, "job_id": …, "run_id": …}` so every line
says what it is about. Secrets are never passed as context; the provider clients redact what they log.

A record is always exactly one line, whatever its values hold: a request path, a bank's error text or an
exception message can carry a newline (a forged record on the next line) or a terminal escape, so every control
character is escaped (`\\n`, `\\x1b`, `\\u2028`) and a traceback is one escaped `traceback="…"` value. Context
keys that name a capability or a credential (`ref`, `token`, `password`, …) are printed as `[redacted]`, whatever
their value: a mistake elsewhere cannot put a callback reference or a token into the logs.
"""

import logging
import re
import sys
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra=` and is printed as context.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

# Context keys whose values are capabilities or credentials (the bank callback's single-use reference is one).
REDACTED_KEYS = frozenset(
    {
        "ref",
        "reference",
        "token",
        "access",
        "access_token",
        "refresh",
        "refresh_token",
        "password",
        "secret",
        "secret_id",
        "secret_key",
        "authorization",
        "cookie",
    }
)
REDACTED = "[redacted]"

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators (which some viewers break lines on).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _quote(value: object) -> str:
    """The value as one token: bare when it is plain, else double-quoted with `\\`, `"` and controls escaped."""
    text = str(value)
    if text and not any(ch.isspace() or ch in '"=\\' for ch in text) and not _CONTROL.search(text):
        return text
    return '"' + _CONTROL.sub(_escape_control, text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        timestamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        parts = [timestamp, record.levelname.lower(), record.name, _quote(record.getMessage())]
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                shown = REDACTED if key.lower() in REDACTED_KEYS else value
                parts.append(f"{_quote(key)}={_quote(shown)}")
        if record.exc_info:
            parts.append(f"traceback={_quote(self.formatException(record.exc_info))}")
        if record.stack_info:
            parts.append(f"stack={_quote(self.formatStack(record.stack_info))}")
        return " ".join(parts)


def configure_logging(level: int = logging.INFO) -> None:
    """Install the key=value handler on the `src` logger tree once (idempotent across app factories)."""
    logger = logging.getLogger("src")
    if any(isinstance(handler.formatter, KeyValueFormatter) for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = True
