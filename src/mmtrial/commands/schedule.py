"""`mmtrial schedule FILE|-`: a participant's calendar as JSON (contracts/schedule.md), and iCalendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from mmtrial.commands._io import fail, print_json, read_json

ICS_PRODID = "-//mmtrial//schedule//EN"
ICS_UID_DOMAIN = "mmtrial"


def schedule_ics(
    schedule: dict[str, Any], *, participant: str, drug_names: dict[str, str]
) -> bytes:
    """The calendar as iCalendar: one all-day event per visit, dosing day and follow-up contact.

    UIDs are stable (participant + what the event is, not its date), so a recomputed schedule
    after a delay updates the same events in a calendar application instead of duplicating them.
    `drug_names` maps a dosing row's dose key (`ixazomib_mg`) to the drug's display name.
    """
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", ICS_PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"mmtrial {participant}")
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def add(uid: str, day: str, summary: str, description: str) -> None:
        start = dt.date.fromisoformat(day)
        event = Event()
        event.add("uid", f"{participant}-{uid}@{ICS_UID_DOMAIN}")
        event.add("dtstamp", stamp)
        event.add("dtstart", start)
        event.add("dtend", start + dt.timedelta(days=1))
        event.add("summary", summary)
        event.add("description", description)
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)

    for visit in schedule["visits"]:
        kind = "End-of-treatment visit" if visit["kind"] == "end_of_treatment" else "Visit"
        window = f"window {visit['window_start']} to {visit['window_end']}"
        add(f"visit-{visit['code']}", visit["date"], f"{kind} {visit['code']}", window)
    for row in schedule["dosing"]:
        code = f"C{row['cycle']}D{row['day']}"
        doses = [
            f"{name} {row[key]} mg" for key, name in drug_names.items() if row.get(key) is not None
        ]
        add(f"dose-{code}", row["date"], f"Dosing {code}: {', '.join(doses)}", "; ".join(doses))
    for number, day in enumerate(schedule["follow_up_contacts"], start=1):
        add(
            f"contact-{number}",
            day,
            f"Follow-up contact {number}",
            "Survival follow-up contact after progression",
        )
    return cal.to_ical()


def register(root: typer.Typer) -> None:
    @root.command("schedule")
    def schedule_command(
        source: str = typer.Argument(..., help="JSON file of the participant's facts, or '-'."),
        ics: Path | None = typer.Option(
            None, "--ics", help="Also write the calendar as iCalendar to this file."
        ),
        participant: str | None = typer.Option(
            None, "--participant", help="Participant id for the iCalendar event UIDs."
        ),
        version: str | None = typer.Option(
            None, "--protocol-version", help="A bundled protocol version (default: newest)."
        ),
    ) -> None:
        """Print a participant's dosing days, visits, assessments and contacts as JSON."""
        from mmtrial.clinical.schedule import parse_schedule_input, schedule_dict
        from mmtrial.errors import MmtrialError
        from mmtrial.protocol import ProtocolError, load_protocol

        data = read_json(source)
        try:
            protocol = load_protocol(version)
            facts = parse_schedule_input(data, drugs=tuple(protocol.regimen))
            result = schedule_dict(facts, protocol=protocol)
        except (MmtrialError, ProtocolError) as exc:
            fail(str(exc))
        if ics is not None:
            who = participant or f"c1d1-{facts.cycles[0].start_date:%Y%m%d}"
            names = {f"{key}_mg": drug.name for key, drug in protocol.drugs.items()}
            payload = schedule_ics(result, participant=who, drug_names=names)
            try:
                ics.write_bytes(payload)
            except OSError as exc:
                fail(f"--ics {ics}: cannot write ({exc.strerror})")
        print_json(result)
