"""Endpoint URLs without their secrets, for anything printed, logged or put in an error.

OPENAI_BASE_URL, UNDERTOW_DATABASE_URL and UNDERTOW_CHROMA_URL may carry `user:password@` or an
`?api_key=` query; `undertow status` output ends up pasted in tickets and chat.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

# Query parameter names whose values are credentials (api_key, access_token, X-Amz-Signature, sig, ...).
_SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|pwd|pass|auth|signature|sig|credential|session)", re.IGNORECASE)


def mask_url(url: str | None) -> str | None:
    """The URL with its password (or a user part standing alone, which may be a key) and
    secret-looking query values replaced by ***; the scheme, a user with a password, the host,
    path and other parameters stay, so the output still says where it points."""
    if not url:
        return url
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    rest, hash_mark, fragment = rest.partition("#")
    rest, question_mark, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    # The password ends at the last '@': a password may itself contain one.
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    elif at:
        authority = f"{MASK}@{host}"  # a user part alone is often the key itself (https://sk-...@host)
    masked = f"{scheme}{separator}{authority}{slash}{path}"
    if question_mark:
        masked += "?" + "&".join(_mask_parameter(part) for part in query.split("&"))
    return masked + (hash_mark + fragment if hash_mark else "")


def _mask_parameter(part: str) -> str:
    name, equals, value = part.partition("=")
    if equals and value and _SECRET_NAME.search(unquote(name)):
        return f"{name}={MASK}"
    return part
