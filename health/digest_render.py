"""The digest for people: Markdown (a terminal, a wiki, a ticket), an HTML e-mail body, and the
JSON a chat webhook takes (Slack-style `text` in mrkdwn, with the figures beside it for bots)."""

from __future__ import annotations

from undertow.health.digest import Digest
from undertow.html_page import band_badge, esc, num, page

SHOWN = 20  # items per list in a message; the JSON payload's `digest` keeps them all


def _title(d: Digest) -> str:
    return f"Undertow digest for {d.as_of.isoformat()}"


def _period(d: Digest) -> str:
    before = f"the snapshot of {d.previous_day.isoformat()}" if d.previous_day else "the first scoring (no earlier snapshot)"
    return f"Changes since {before}; flags of severity {d.min_severity:g} or more; drops of {d.min_drop:g} points or more."


def _name(item: dict) -> str:
    return item["account_name"] if item["account_name"] == item["account_id"] else f"{item['account_name']} ({item['account_id']})"


def _plain(text: str) -> str:
    """Customer text and account names as literal text in Markdown and Slack's mrkdwn: both read
    `<...>` as markup (a raw HTML tag; a disguised link or an `<!channel>` ping in Slack), and both
    show these three entities as the characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _was(item: dict) -> str:
    return "new account" if item.get("previous_health") is None else f"was {num(item['previous_health'])}"


def _more(items: list) -> list[str]:
    return [f"- and {len(items) - SHOWN} more"] if len(items) > SHOWN else []


def _oneline(text: str) -> str:
    return " ".join(text.split())


def markdown(d: Digest, bold: str = "**") -> str:
    """Markdown; `bold="*"` gives Slack's mrkdwn, which has no headings."""
    heading = (lambda text: f"{bold}{text}{bold}") if bold == "*" else (lambda text: f"## {text}")
    lines = [f"{bold}{_title(d)}{bold}" if bold == "*" else f"# {_title(d)}", "", _period(d), ""]
    if d.empty:
        lines += ["Nothing new: no account entered the review queue, no new high-severity flag, no score drop.", ""]
    if d.entered:
        lines += [heading(f"{len(d.entered)} account(s) entered the review queue"), ""]
        for item in d.entered[:SHOWN]:
            lines.append(f"- {bold}{_plain(_name(item))}{bold}: {item['band'] or 'unscored'}, health {num(item['health_score'])} ({_was(item)})")
            lines += [f"  - {_plain(reason)}" for reason in item["reasons"]]
        lines += [*_more(d.entered), ""]
    if d.flags:
        lines += [heading(f"{len(d.flags)} new high-severity flag(s)"), ""]
        for flag in d.flags[:SHOWN]:
            where = ", ".join(x for x in (flag["source"], flag["date"]) if x)
            lines.append(f"- {bold}{_plain(_name(flag))}{bold}: {flag['signal'].replace('_', ' ')} ({_plain(where)}; confidence {flag['confidence']:.2f})")
            if flag["quote"]:
                lines.append(f"  > \u201c{_plain(_oneline(flag['quote']))}\u201d")
        lines += [*_more(d.flags), ""]
    if d.drops:
        lines += [heading(f"{len(d.drops)} score drop(s)"), ""]
        for drop in d.drops[:SHOWN]:
            lines.append(f"- {bold}{_plain(_name(drop))}{bold}: {num(drop['previous_health'])} \u2192 {num(drop['health_score'])} "
                         f"({drop['change']:+.0f}), {drop['previous_band'] or 'unscored'} \u2192 {drop['band'] or 'unscored'}")
        lines += [*_more(d.drops), ""]
    if d.left:
        shown = ", ".join(_plain(account_id) for account_id in d.left[:SHOWN]) + (f" and {len(d.left) - SHOWN} more" if len(d.left) > SHOWN else "")
        lines += [f"{len(d.left)} account(s) left the review queue: {shown}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def html(d: Digest) -> str:
    """A self-contained page: styles inline, nothing fetched, every value escaped."""
    parts = [f"<h1>{esc(_title(d))}</h1>", f"<p class=\"muted\">{esc(_period(d))}</p>"]
    if d.empty:
        parts.append("<p>Nothing new: no account entered the review queue, no new high-severity flag, no score drop.</p>")
    if d.entered:
        parts.append(f"<h2>{len(d.entered)} account(s) entered the review queue</h2><ul>")
        for item in d.entered:
            reasons = "".join(f"<li>{esc(r)}</li>" for r in item["reasons"])
            parts.append(f"<li><strong>{esc(_name(item))}</strong> {band_badge(item['band'])} health {num(item['health_score'])} "
                         f"({esc(_was(item))})<ul class=\"reasons\">{reasons}</ul></li>")
        parts.append("</ul>")
    if d.flags:
        parts.append(f"<h2>{len(d.flags)} new high-severity flag(s)</h2>")
        for flag in d.flags:
            where = ", ".join(x for x in (flag["source"], flag["date"]) if x)
            parts.append(f"<p><strong>{esc(_name(flag))}</strong>: {esc(flag['signal'].replace('_', ' '))} "
                         f"<span class=\"muted small\">{esc(where)}; confidence {flag['confidence']:.2f}; document {esc(flag['doc_id'])}</span></p>"
                         + (f"<blockquote>{esc(flag['quote'])}</blockquote>" if flag["quote"] else ""))
    if d.drops:
        rows = "".join(f"<tr><td>{esc(_name(x))}</td><td class=\"num\">{num(x['previous_health'])}</td><td class=\"num\">{num(x['health_score'])}</td>"
                       f"<td class=\"num\">{x['change']:+.0f}</td><td>{band_badge(x['previous_band'])} \u2192 {band_badge(x['band'])}</td></tr>"
                       for x in d.drops)
        parts.append(f"<h2>{len(d.drops)} score drop(s)</h2><table><thead><tr><th>account</th><th class=\"num\">was</th>"
                     f"<th class=\"num\">now</th><th class=\"num\">change</th><th>band</th></tr></thead><tbody>{rows}</tbody></table>")
    if d.left:
        parts.append(f"<p>{len(d.left)} account(s) left the review queue: {esc(', '.join(d.left))}.</p>")
    return page(_title(d), "".join(parts))


def chat_payload(d: Digest) -> dict:
    """What is posted to a chat webhook: `text` for Slack, Mattermost and Teams' incoming webhooks,
    `digest` with every item for anything that reads JSON."""
    return {"text": markdown(d, bold="*"), "digest": d.as_dict()}
