"""The thrown benchmark's scoring: what counts in recall."""

from __future__ import annotations

from bench.thrown import summarise


def throw(i: int, release_t: float, fallen2: float | None, last_seen: float) -> dict:
    return {
        "id": i,
        "release_t": release_t,
        "floor": 9,
        "unit": "01",
        "size_px": 5.0,
        "night_streak": False,
        "fallen_2_storeys_t": fallen2,
        "exit_t": last_seen,
        "last_seen_t": last_seen,
        "image_path": [],
    }


def test_a_throw_gone_from_view_before_two_storeys_of_fall_is_counted_apart_not_in_recall() -> None:
    """A pot tossed up and out of the side of the view 0.24 s before it had fallen two storeys
    cannot be confirmed by the rule the detector applies; a missed throw that stayed in view
    is a miss."""
    truth = {
        "spec": {"fps": 25},
        "throws": [throw(0, 1.0, 2.5, 4.0), throw(1, 10.0, 12.0, 11.76), throw(2, 20.0, 21.5, 23.0)],
    }
    event = {"start_s": 1.02, "alarm_s": 2.7, "origin": {"floor": 9, "unit": "01"}, "trajectory": []}
    row = summarise([{"condition": "dusk", "truth": truth, "events": [event]}])["dusk"]
    assert row["4-8 px"] == (1, 2)  # throw 0 caught, throw 2 missed; throw 1 not counted
    assert row["unseen"] == 1
    assert row["precision"] == (1, 1)
