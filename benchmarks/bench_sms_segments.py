"""Share of the SMS of a realistic week that fit one GSM-7 segment (issue 16, step 4).

Run: ``.venv/bin/python benchmarks/bench_sms_segments.py [--seed 46] [--per-day 40] [--participation 0.32]``.

A synthetic week of an association the size of the demo: residents of every Lot
commune (the gazetteer), appointments in the three hubs or another commune,
70 % of them with a way back, drivers' and residents' first names of the demo.
Each request goes through the texts the service sends, rendered by the real
templates (``carpool.notify.compose.render``): a question when a piece is
missing, the proposal (1 to 3 options, shortened as ``sms_inbound`` does), the
"we are looking" reply, the volunteer's request and the resident's wait, the
confirmations, the reminders of each leg, cancellations of one leg or all, and
the feedback question. Prints the share and the templates that overflow.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from carpool.clock import PARIS
from carpool.gazetteer import read_communes
from carpool.notify.compose import render
from carpool.notify.gsm import segments
from carpool.services.demo import DRIVER_FIRST_NAMES, FIRST_NAMES

MONDAY = date(2026, 11, 30)
HUBS = ("Cahors", "Figeac", "Gourdon")


class Week:
    def __init__(self, seed: int, *, shorten: bool = True, price: Decimal | None = None) -> None:
        self.rng, self.shorten, self.price = random.Random(seed), shorten, price
        self.km_rng = random.Random(seed + 1)  # its own draws: the same week with or without a price
        self.communes = [c.name for c in read_communes()]
        self.sent: Counter[str] = Counter()
        self.long: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.shortened = 0  # options dropped to keep a proposal in one segment
        self.choices: Counter[int] = Counter()  # proposals by number of options sent

    def send(self, template: str, **context: Any) -> str:
        text = render(template, **context)
        self.sent[template] += 1
        if segments(text) > 1:
            self.long[template] += 1
            self.examples.setdefault(template, text)
        return text

    def driver(self) -> str:
        return self.rng.choice(DRIVER_FIRST_NAMES)

    def at(self, day: date, minutes: int) -> datetime:
        return datetime.combine(day, time(0), tzinfo=PARIS) + timedelta(minutes=minutes)

    def request(self, day: date) -> None:
        rng = self.rng
        home = rng.choice(self.communes)
        destination = rng.choice(HUBS) if rng.random() < 0.8 else rng.choice(self.communes)
        appointment = self.at(day, rng.randrange(8 * 60, 17 * 60 + 31, 15))
        back_at = appointment + timedelta(minutes=rng.choice((60, 90, 120, 180, 240)))
        round_trip = rng.random() < 0.7
        if rng.random() < 0.3:
            self.send(rng.choice(("ask_date", "ask_time", "ask_destination")))
        if rng.random() < 0.15:
            self.send(
                "searching",
                day=appointment,
                destination=destination,
                appointment=appointment,
                return_at=back_at if round_trip else None,
            )
            return
        options = [
            self.option(appointment, back_at if round_trip else None) for _ in range(rng.choice((1, 1, 2, 3)))
        ]
        if self.price is not None:  # as participation.quote: the leg's km (5 to 60 here) × the price
            per_leg = (Decimal(self.km_rng.randrange(50, 600)) / 10 * self.price).quantize(Decimal("0.01"))
            for option in options:
                option["participation"] = per_leg * (2 if option["back_at"] else 1)
        context = {"day": appointment, "appointment": appointment, "origin": home, "destination": destination}
        # As ``Handler._offer_options``: fewer choices rather than a text cut in two.
        while (
            self.shorten and len(options) > 1 and segments(render("options", **context, options=options)) > 1
        ):
            options = options[:-1]
            self.shortened += 1
        self.choices[len(options)] += 1
        self.send("options", **context, options=options)
        if rng.random() < 0.2:
            self.send("declined")
            return
        chosen = options[0]
        out_driver, back_driver = chosen["first_name"], chosen["back_first_name"]
        if rng.random() < 0.3:  # a volunteer on request: asked first
            self.send(
                "driver_new_request",
                passenger=rng.choice(FIRST_NAMES),
                pickup_at=chosen["pickup_at"],
                place=home,
                leg="out" if round_trip else None,
                back_at=chosen["back_at"],
            )
            self.send("waiting_driver", first_name=out_driver)
        legs = [("out", out_driver, chosen["pickup_at"], home)]
        if round_trip:
            legs.append(("back", back_driver, chosen["back_at"], destination))
            self.send(
                "confirmed_round_trip",
                first_name=out_driver,
                pickup_at=chosen["pickup_at"],
                back_first_name=back_driver,
                back_at=chosen["back_at"],
            )
        else:
            self.send("confirmed", first_name=out_driver, pickup_at=chosen["pickup_at"], place=home)
        passenger = rng.choice(FIRST_NAMES)
        way = (lambda leg: leg) if round_trip else (lambda leg: None)
        for leg, name, pickup_at, place in legs:
            self.send(
                "driver_passenger_confirmed",
                passenger=passenger,
                pickup_at=pickup_at,
                place=place,
                leg=way(leg),
            )
            self.send("reminder_eve", first_name=name, pickup_at=pickup_at, place=place, leg=way(leg))
            self.send(
                "driver_reminder_eve", passenger=passenger, pickup_at=pickup_at, place=place, leg=way(leg)
            )
            self.send("reminder_1h", first_name=name, pickup_at=pickup_at, place=place, leg=way(leg))
        if round_trip and rng.random() < 0.05:
            self.send(
                "leg_cancelled",
                leg="back",
                pickup_at=chosen["back_at"],
                other_at=chosen["pickup_at"],
                other_first_name=out_driver,
            )
            self.send("driver_cancelled", passenger=passenger, pickup_at=chosen["back_at"])
            self.send("leg_kept", leg="out", pickup_at=chosen["pickup_at"])
        elif rng.random() < 0.05:
            self.send("cancelled", pickup_at=chosen["pickup_at"])
            self.send("driver_cancelled", passenger=passenger, pickup_at=chosen["pickup_at"])
            return
        self.send("feedback_ask", driver=out_driver)
        if rng.random() < 0.9:
            self.send("feedback_thanks")

    def option(self, appointment: datetime, back_at: datetime | None) -> dict[str, Any]:
        rng = self.rng
        first = self.driver()
        late = rng.random() < 0.05
        return {
            "leg": "out",
            "first_name": first,
            "pickup_at": appointment - timedelta(minutes=rng.randrange(20, 90)),
            "arrive_at": appointment + timedelta(minutes=rng.randrange(5, 40)) if late else None,
            "back_at": back_at + timedelta(minutes=rng.randrange(0, 30)) if back_at else None,
            "back_first_name": (first if rng.random() < 0.3 else self.driver()) if back_at else None,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=46)
    parser.add_argument("--per-day", type=int, default=40, help="requests a day (the demo has ~40)")
    parser.add_argument("--keep-all", action="store_true", help="send every option (no shortening)")
    parser.add_argument("--participation", type=Decimal, help="residents' price per km, e.g. 0.32 (issue 19)")
    args = parser.parse_args()
    week = Week(args.seed, shorten=not args.keep_all, price=args.participation)
    for n in range(7):
        for _ in range(args.per_day):
            week.request(MONDAY + timedelta(days=n))
    total, long = sum(week.sent.values()), sum(week.long.values())
    print(f"{total} SMS in the week, {total - long} in one segment: {100 * (total - long) / total:.1f} %")
    print(
        f"proposals by number of options: {dict(sorted(week.choices.items()))}, "
        f"options dropped to fit: {week.shortened}"
    )
    for template, count in week.long.most_common():
        print(f"  {template}: {count}/{week.sent[template]} longer, e.g. {week.examples[template]!r}")


if __name__ == "__main__":
    main()
