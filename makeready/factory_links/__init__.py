"""Factory links: an issued spec revision sent to one supplier, opened at /f/<token> without an account.

The coordinator's side and the link's machine are in `links`, the factory's in `visits`, the coordinator's reading
in `reading`; every name is reached here (`from makeready import factory_links`).

The token (256 random bits) is shown once, to the coordinator who sends it; only its sha256 is stored, so a copy of
the database opens nothing. A link is scoped to one revision: a newer issue leaves it readable with a "superseded"
banner but read-only. Expired or revoked links are Gone (410), unknown tokens NotFound (404).

The factory has no account, so its requests carry no tenancy scope of their own: the link is found by its hash with
the tenancy filter bypassed, and everything after runs in the scope of that link's organization only.

The link is deliberately not emailed through the outbox: an outbox row would keep the token in clear text in the
database (and in the delivered-mail archive), which the "stored only as a hash" rule forbids. The coordinator copies
it once from the page and sends it by the channel the factory uses (WeChat, email).
"""

from makeready.factory_links.common import (
    DEFAULT_DAYS,
    LINK_NOT_FOUND,
    MAX_DAYS,
    QUESTION_NOT_FOUND,
    Gone,
    coordinator_path,
    hash_token,
    is_expired,
    is_live,
    link_path,
)
from makeready.factory_links.links import FACTORY_LINK, answer_question, revoke_link, send_link
from makeready.factory_links.reading import (
    LinkRow,
    Unopened,
    links_of,
    questions_of,
    unopened_suppliers,
    unopened_suppliers_of,
)
from makeready.factory_links.visits import LinkView, acknowledge, ask_question, find_link, open_link

__all__ = [
    "DEFAULT_DAYS",
    "FACTORY_LINK",
    "LINK_NOT_FOUND",
    "MAX_DAYS",
    "QUESTION_NOT_FOUND",
    "Gone",
    "LinkRow",
    "LinkView",
    "Unopened",
    "acknowledge",
    "answer_question",
    "ask_question",
    "coordinator_path",
    "find_link",
    "hash_token",
    "is_expired",
    "is_live",
    "link_path",
    "links_of",
    "open_link",
    "questions_of",
    "revoke_link",
    "send_link",
    "unopened_suppliers",
    "unopened_suppliers_of",
]
