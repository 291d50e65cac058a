"""The composition root wires every rule to an event something fires, and every job a worker may be asked to run."""

from __future__ import annotations

from makeready import composition
from makeready.jobs import registry
from makeready.kernel import bus, machine


def fired_events() -> frozenset[str]:
    """Every event a transition of a declared machine fires, and every event a service declares it fires."""
    from_machines = {event for m in machine.MACHINES.values() for event in m.events}
    return frozenset(from_machines) | bus.declared_events()


def test_every_rule_listens_for_an_event_that_is_fired() -> None:
    composition.wire()
    unheard = sorted(name for name in bus.registered() if name not in fired_events())
    assert unheard == [], f"rules listen for events nothing fires: {unheard}"


def test_a_rule_for_an_event_nobody_fires_is_caught(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async def rule(session, event):  # type: ignore[no-untyped-def]
        return None

    monkeypatch.setitem(bus._RULES, "sample_round.aproved", [rule])  # a typo of sample_round.approved
    unheard = sorted(name for name in bus.registered() if name not in fired_events())
    assert unheard == ["sample_round.aproved"]


def test_every_periodic_job_is_a_registered_job() -> None:
    composition.wire()
    assert set(registry.PERIODIC) == {
        "deliver_outbox",
        "run_escalation",
        "invoice_due_fees",
        "sweep_abandoned_uploads",
        "audit_checkpoint",
        "run_production_checks",
        "run_shortages",
        "flag_overdue_corrective_actions",
        "metrics_catch_up",
    }
    assert set(registry.PERIODIC) <= set(registry.REGISTRY)
    for name in ("send_email", "invoice_milestone_fee", "render_spec_pdf"):
        assert name in registry.REGISTRY


def test_wiring_installs_the_kernel_ports_once() -> None:
    composition.wire()
    composition.wire()
    from makeready.kernel import ports

    assert ports.PORTS.record_audit is not None
    assert ports.PORTS.membership_role is not None
    rules = bus.rules_for("milestone.completed")
    # conditions cleared, fees made due, what the project waits on recomputed: each registered once
    assert len(rules) == len(set(rules)) == 3
