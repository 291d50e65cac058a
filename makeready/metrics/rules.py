"""The facts follow the work: every bus event some metric kind reads folds the trail up to it, in the event's
own transaction (`facts.catch_up`). Events recorded without a bus event (a factory's question asked through its
link, a link sent) are folded by the next such rule or by the periodic job (`metrics.jobs`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from makeready.kernel.bus import Event, Rule
from makeready.metrics.facts import catch_up
from makeready.metrics.kinds import ACTIONS

NOT_ON_THE_BUS = frozenset({"factory_link.sent", "factory_question.asked", "factory_question.answered"})
"""Audited, but fired on no bus: the periodic job folds them."""


async def fold_the_trail(session: AsyncSession, event: Event) -> None:
    await catch_up(session)


RULES: list[tuple[str, Rule]] = [(action, fold_the_trail) for action in sorted(ACTIONS - NOT_ON_THE_BUS)]
