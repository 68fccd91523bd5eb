"""Retries for one chat request, as the openai client would make them, but bounded by a deadline.

The openai client retries inside the call, so a run's deadline could not cut the wait short: a
stalled endpoint held a nightly job open for minutes past it. Here each attempt's HTTP timeout is
the time left before the deadline, and no retry or wait starts past it.
"""

from __future__ import annotations

import email.utils
import math
import random
import time

import openai


class DeadlineCut(Exception):
    """The caller's deadline came before an answer: raised as ChatTimeout(DEADLINE_REASON)."""


MAX_RETRY_AFTER_S = 60.0


def retry_after(headers) -> float | None:
    """The server's retry-after-ms or retry-after (seconds or an HTTP date), in seconds."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / divisor
        except ValueError:
            if name == "retry-after":
                try:
                    when = email.utils.parsedate_tz(value)
                    return float(email.utils.mktime_tz(when) - time.time()) if when else None
                except (TypeError, ValueError, OverflowError):
                    return None
    return None


def should_retry(status_code: int, headers) -> bool:
    """As the openai client decides: the server's x-should-retry, else 408, 409, 429 and 5xx;
    never when the server asks for a wait longer than a minute."""
    after = retry_after(headers)
    if after is not None and math.isfinite(after) and after > MAX_RETRY_AFTER_S:
        return False
    should = headers.get("x-should-retry") if headers is not None else None
    if should in ("true", "false"):
        return should == "true"
    return status_code in (408, 409, 429) or status_code >= 500


def retry_wait(attempt: int, headers) -> float:
    """The server's retry-after when it gives a sane one, else 0.5 s doubling to 8 s, less up
    to a quarter of jitter (the openai client's backoff)."""
    after = retry_after(headers)
    if after is not None and math.isfinite(after) and 0 < after <= MAX_RETRY_AFTER_S:
        return after
    return min(0.5 * 2.0 ** min(attempt, 32), 8.0) * (1 - 0.25 * random.random())


def send_with_retries(model_step, messages: list, attempts: int, timeout_s: float, deadline: float | None):
    """The model's raw AIMessage, with the openai client's retry policy applied here, so each
    attempt's HTTP timeout can be cut to the time left before `deadline` and no retry starts
    past it. Called in the caller's thread: no executor thread can outlive the deadline."""
    for attempt in range(attempts):
        timeout = timeout_s
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlineCut()
            timeout = min(timeout, left)
        try:
            # The header the openai client sets on its own retries, for servers that read it.
            return model_step.invoke(messages, timeout=timeout, extra_headers={"x-stainless-retry-count": str(attempt)})
        except openai.APITimeoutError:
            if deadline is not None and deadline - time.monotonic() <= 0.05:
                raise DeadlineCut() from None
            if attempt + 1 >= attempts:
                raise
            wait = retry_wait(attempt, None)
        except openai.APIConnectionError:
            if attempt + 1 >= attempts:
                raise
            wait = retry_wait(attempt, None)
        except openai.APIStatusError as error:
            headers = getattr(getattr(error, "response", None), "headers", None)
            if attempt + 1 >= attempts or not should_retry(error.status_code, headers):
                raise
            wait = retry_wait(attempt, headers)
        if deadline is not None and time.monotonic() + wait >= deadline:
            raise DeadlineCut()
        time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
