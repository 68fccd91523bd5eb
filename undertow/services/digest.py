"""`digest`: what changed since the last scoring, as Markdown, an HTML e-mail body, or the JSON a
chat webhook takes; posted only to a webhook URL the user gives."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from undertow.errors import InputError, NotFound, UndertowError
from undertow.settings import Settings

FORMATS = ("markdown", "html", "json")
POST_TIMEOUT_S = 15


class NotPosted(UndertowError):
    """The webhook refused the digest or could not be reached; the digest itself was made."""


@dataclass
class DigestResult:
    digest: object  # undertow.health.digest.Digest
    text: str  # in the format asked for


def parse_since(value: str) -> int:
    """'1d', '7d', '2w' -> days. Scores are kept per day, so a window is whole days."""
    match = re.fullmatch(r"\s*(\d+)\s*([dw])\s*", value.lower())
    if not match or int(match.group(1)) == 0:
        raise InputError(f"--since {value!r}: use days or weeks, such as 1d, 7d or 2w")
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


def digest(settings: Settings, *, since: str = "1d", as_of: dt.date | None = None, fmt: str = "markdown", min_severity: float | None = None,
           min_drop: float | None = None, scorecard: Path | None = None) -> DigestResult:
    """`as_of` defaults to the day of the newest snapshot: the digest speaks of the latest scoring."""
    from undertow.health import digest_render
    from undertow.health.digest import HIGH_SEVERITY, MIN_DROP, build_digest
    from undertow.store.home import Home

    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    days = parse_since(since)
    home = Home(settings)
    as_of = as_of or home.records.last_snapshot_day()
    if as_of is None:
        raise NotFound(f"no scores in {home.path} yet: `undertow annotate ACCOUNTS.csv` or `undertow nightly` stores them")
    severity = home.scorecard(scorecard).qualitative.severity
    made = build_digest(home.records, severity, as_of, days, HIGH_SEVERITY if min_severity is None else min_severity,
                        MIN_DROP if min_drop is None else min_drop)
    if fmt == "markdown":
        text = digest_render.markdown(made)
    elif fmt == "html":
        text = digest_render.html(made)
    else:
        text = json.dumps(digest_render.chat_payload(made), ensure_ascii=False, indent=1) + "\n"
    return DigestResult(made, text)


def post(result: DigestResult, url: str) -> int:
    """POST the chat payload to `url`; the HTTP status. Webhook URLs are secrets: messages name
    only the scheme and host."""
    from undertow.health.digest_render import chat_payload

    scheme, _, rest = url.partition("://")
    where = f"{scheme}://{rest.split('/', 1)[0].rpartition('@')[2]}/..."
    if scheme not in ("http", "https") or not rest:
        raise InputError(f"--webhook must be an http(s) URL, got {url[:12]!r}...")
    body = json.dumps(chat_payload(result.digest), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as response:  # the user's own webhook
            return response.status
    except urllib.error.HTTPError as error:
        raise NotPosted(f"the webhook at {where} answered {error.code} {error.reason}: the digest was not posted") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise NotPosted(f"could not reach the webhook at {where} ({reason}): the digest was not posted") from None


def write(result: DigestResult, path: Path) -> None:
    from undertow.atomic import atomic_write_text
    from undertow.services._shared import named_files

    with named_files():
        atomic_write_text(path, result.text)
