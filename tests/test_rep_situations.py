"""The rep detector in the situations that fooled it: gaps over reps, the end of a set,
slumping on a bench, a slow sensor rate. Truth comes from the simulator's body model.

Situations the detector's principles do not cover yet (reps hidden whole by link gaps,
leaning on a bench, light sets lowered at the end) are measured by
benchmarks/bench_situations.py instead, so that fixing one shows."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from processing.detect.alerts import ReferenceSettings
from processing.detect.pipeline import AnalysisResult, Pipeline, PipelineConfig
from processing.detect.ticks import TickSettings
from processing.offline.analysis import analyze_recording
from sensor.recording import iter_batches, read_recording
from sensor.sim.body import random_lifter
from sensor.sim.imu import SensorErrors
from sensor.sim.population import wide_spec
from sensor.simulate import Gap, SensorSpec, SessionSpec, SetSpec, random_spec, simulate_session

DUAL = {"upper": SensorSpec(), "lower": SensorSpec()}
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def analyzed(spec: SessionSpec) -> tuple[AnalysisResult, dict]:  # type: ignore[type-arg]
    """Simulate a session and analyze its recording at the truth's threshold."""
    session = simulate_session(spec)
    config = PipelineConfig(threshold_deg=session.truth["threshold_deg"])
    return analyze_recording(session.recording, config), session.truth


def counts(result: AnalysisResult, truth: dict) -> tuple[list[int], list[int]]:  # type: ignore[type-arg]
    """Reps per set as detected and as true."""
    return [len(s.reps) for s in result.sets], [len(s["reps"]) for s in truth["sets"]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_standing_up_into_a_gap_after_the_set_is_not_a_rep(seed: int) -> None:
    # The link drops as the lifter stands up from the lowered bar and returns with them
    # upright: the climb is unmeasured, but its first moments leapt up far harder than
    # any loaded pull of the set. (3 of 20 such seeds, whose gap hides the leap too, still
    # count it.)
    sets = (SetSpec(reps=3, sit_before=False),) * 2
    base = SessionSpec(seed=seed, sensors=DUAL, sets=sets)
    stand = next(a for a in simulate_session(base).truth["activities"] if a["kind"] == "stand_up")
    result, truth = analyzed(replace(base, gaps=(Gap(1.0, at_s=stand["end"] - 0.45),)))
    detected, true = counts(result, truth)
    assert detected == true == [3, 3]


@pytest.mark.parametrize("ending", ["lower", "drop"])
@pytest.mark.parametrize(("seed", "load"), [(21, 0.75), (22, 0.75), (40, 0.6), (41, 0.6)])
def test_standing_up_after_lowering_the_bar_is_not_a_rep_and_a_dropped_one_is(
    ending: str, seed: int, load: float
) -> None:
    # At 60% of 1RM the last pull is as quick as standing up: only the trunk tells them
    # apart (knees first under the bar). These light seeds once fooled the pace rules.
    sets = tuple(SetSpec(reps=3, load=load, ending=ending, sit_before=False) for _ in range(2))  # type: ignore[arg-type]
    result, truth = analyzed(SessionSpec(seed=seed, sensors=DUAL, sets=sets))
    detected, true = counts(result, truth)
    assert detected == true == [3, 3]


def test_leaning_forward_and_back_on_a_bench_is_not_a_rep() -> None:
    # Seed 45 sits between sets, leans on the knees for seconds and sits back up: a lone
    # 30-40 deg hinge with a long "set-up", but the hips never leave the bench.
    result, truth = analyzed(random_spec(45))
    sits = [a for a in truth["activities"] if a["kind"] == "sit"]
    lockouts = [r.lockout for s in result.sets for r in s.reps]
    assert sits
    assert [t for t in lockouts for a in sits if a["start"] <= t <= a["end"]] == []


@pytest.mark.parametrize("seed", [1900007, 1900034])
def test_a_lone_rise_that_lifts_no_hips_is_not_a_rep(seed: int) -> None:
    # Spent hold-out sessions whose seated leans (elbows on knees, back up) each counted as
    # a one-rep set: a 25-40 deg hinge after seconds "set up", but the sensor never climbs.
    result, truth = analyzed(random_spec(seed, (60.0, 240.0)))
    detected, true = counts(result, truth)
    assert detected == true


@pytest.mark.parametrize("seed", [2, 4, 7, 8])
def test_a_quick_single_that_the_lifter_then_stands_up_from_faster_is_a_rep(seed: int) -> None:
    # Singles at 60% of 1RM climb faster than 0.6 m/s, as quick as some stand-ups, and were
    # dropped as standing up. The stand-up after the lowered bar is faster still: measured
    # against the lifter's own unloaded rise, the single was loaded.
    sets = tuple(SetSpec(reps=1, load=0.6, sit_before=False) for _ in range(2))
    result, truth = analyzed(SessionSpec(seed=seed, sensors=DUAL, sets=sets))
    detected, true = counts(result, truth)
    assert detected == true == [1, 1]


@pytest.mark.parametrize("seed", [0, 1, 5, 7])
def test_a_heavy_single_whose_pull_the_link_lost_is_a_rep(seed: int) -> None:
    # The link drops from the set-up to just after the lockout: the climb it did not see
    # reads as nothing lifted, and the single was dropped as a lean on a bench. Only a
    # climb the link saw can show that the hips did not rise. And the pull began in the
    # gap, not after it: the rep spans the gap.
    sets = tuple(SetSpec(reps=1, load=0.9, sit_before=False) for _ in range(2))
    base = SessionSpec(seed=seed, sensors=DUAL, sets=sets)
    pull = simulate_session(base).truth["sets"][0]["reps"][0]
    hidden = Gap(pull["lockout"] - pull["start"] + 0.6, at_s=pull["start"] - 0.3)
    result, truth = analyzed(replace(base, gaps=(hidden,)))
    detected, true = counts(result, truth)
    assert detected == true == [1, 1]
    rep = result.sets[0].reps[0]
    assert rep.start < pull["lockout"] < rep.end


def test_a_rep_is_measured_until_its_bar_is_down_not_through_the_next_set_up() -> None:
    # A spent hold-out session: after a 19 deg rep the lifter rounds to 49 deg resetting at
    # the floor for the next pull; the first rep once ran on into that and read 49.5 deg.
    result, truth = analyzed(random_spec(1900020, (60.0, 240.0)))
    true_reps = [r for s in truth["sets"] for r in s["reps"]]
    errors = [
        abs(rep.peak_flexion_deg - true["peak_flexion_deg"])
        for rep in (r for s in result.sets for r in s.reps)
        for true in true_reps
        if abs(rep.lockout - true["lockout"]) < 0.75 and not math.isnan(rep.peak_flexion_deg)
    ]
    assert len(errors) >= len(true_reps) - 1  # its last set's dropped rep is missed
    assert max(errors) < 5.0


@pytest.mark.parametrize("seed", [11, 29])
def test_a_grinder_crawling_up_mid_set_is_a_rep_with_one_sensor(seed: int) -> None:
    # Near-maximal singles of 4-5 s climb slower than 0.15 m/s at their peak; mid-set
    # nobody sits down, so no pace floor for sitting applies.
    sets = (SetSpec(reps=4, load=0.95, grind_reps=2, sit_before=False),)
    sensors = {"lumbar": SensorSpec(rate_hz=50.0)}
    result, truth = analyzed(SessionSpec(seed=seed, sensors=sensors, sets=sets))
    detected, true = counts(result, truth)
    assert max(r["concentric_s"] for r in truth["sets"][0]["reps"]) > 4.0
    assert detected == true == [4]


def test_a_slow_sacrum_sensor_keeps_its_pelvis_angle_through_a_session() -> None:
    # Seed 74 streams both sensors at 25 Hz; its sacrum sensor drifted 25 deg when the
    # orientation filter counted its timeouts at 100 Hz.
    session = simulate_session(74)
    config = PipelineConfig(threshold_deg=session.truth["threshold_deg"])
    result = analyze_recording(session.recording, config)
    truth_peaks = {
        round(r["lockout"]): r["peak_flexion_deg"] for s in session.truth["sets"] for r in s["reps"]
    }
    errors = [
        r.peak_flexion_deg - truth_peaks[round(r.lockout)]
        for s in result.sets
        for r in s.reps
        if round(r.lockout) in truth_peaks
    ]
    assert len(errors) >= 5
    assert float(np.sqrt(np.mean(np.square(errors)))) < 4.0


@pytest.mark.parametrize("seed", [1, 2])
def test_a_silent_upper_sensor_mid_pull_neither_adds_nor_moves_a_rep(seed: int) -> None:
    sets = (SetSpec(reps=4, sit_before=False),)
    gaps = (Gap(0.6, in_set=0, role="upper"),)
    result, truth = analyzed(SessionSpec(seed=seed, sensors=DUAL, sets=sets, gaps=gaps))
    found = [r.lockout for s in result.sets for r in s.reps]
    true = [r["lockout"] for s in truth["sets"] for r in s["reps"]]
    assert len(found) == len(true) == 4
    assert np.max(np.abs(np.subtract(found, true))) < 0.75


def test_alerts_follow_the_reference_reps_once_they_are_in() -> None:
    recording = read_recording(FIXTURES / "single_upper_fatigue.csv.gz")
    reference = ReferenceSettings(above_deg=5.0, reps=3)
    config = PipelineConfig(reference=reference, ticks=TickSettings(max_lag_s=math.inf))
    pipeline = Pipeline(recording.roles, config)
    events = [e for b in iter_batches(recording, 1.0) for e in pipeline.feed(b).events]
    events += pipeline.finish().events
    reps = [e for e in events if e.type == "rep"]
    (threshold,) = [e for e in events if e.type == "threshold"]
    assert threshold.t == reps[2].t  # set as the third rep ends
    first_peaks = [r.data["peak_flexion_deg"] for r in reps[:3]]
    assert threshold.data["reference_peak_deg"] == pytest.approx(np.median(first_peaks), abs=0.01)
    new_deg = threshold.data["threshold_deg"]
    # Reps are announced when they are judged, after their end: the new threshold holds for
    # every alert that follows its event in the stream.
    after = events[events.index(threshold) + 1 :]
    later = [e for e in after if e.type == "flexion_alert"]
    assert later
    assert all(e.data["threshold_deg"] == pytest.approx(new_deg, abs=0.01) for e in later)
    assert all(e.data["angle_deg"] > new_deg - 0.01 for e in later)


@pytest.mark.parametrize("seed", [0, 11, 39])
def test_reps_lifted_before_any_upright_reference_are_counted_once_there_is_one(
    seed: int,
) -> None:
    # Without a stance, these lifters stand still for the first time only after their first
    # rep: the pipeline learns which way is upright after the rep was lifted.
    sets = (SetSpec(reps=3, sit_before=False, ending="drop"), SetSpec(reps=2, sit_before=False))
    spec = SessionSpec(seed=seed, sensors=DUAL, sets=sets, include_calibration=False)
    result, truth = analyzed(spec)
    found = [r.lockout for s in result.sets for r in s.reps]
    true = [r["lockout"] for s in truth["sets"] for r in s["reps"]]
    assert [len(s.reps) for s in result.sets] == [3, 2]
    assert np.max(np.abs(np.subtract(found, true))) < 0.75


def test_a_gap_in_the_first_pull_before_any_upright_reference_loses_nothing_after_it() -> None:
    # No stance, samples stamped in bursts, and the link drops out early in the very first
    # pull: the orientation starts afresh while the sensor accelerates, and the "lockout"
    # seen as the data return is still moving. Taken for upright (and for which way is
    # forward), it once lost every set of the session. The first set itself may still come
    # out wrong (3 of its 5 reps, split in two: the climb the gap hid in part sets its pace
    # too slow, and two full-speed pulls after it read as standing up), so the sets are
    # compared from the end of that one on, by time.
    result, truth = analyzed(random_spec(400031))
    assert truth["calibration"] is None and truth["mode"] == "single"
    first_end_s = truth["sets"][0]["end"]
    after = [len(s.reps) for s in result.sets if s.reps[0].start > first_end_s]
    assert after == counts(result, truth)[1][1:]


@pytest.mark.parametrize("seed", [1100028])
def test_a_plate_carried_off_through_a_gap_is_not_a_rep(seed: int) -> None:
    # The lifter stands up with a plate and walks off, but the link drops a second into the
    # walk: too few footfalls were seen before the gap to tell walking, so the ones after
    # it must count.
    detected, true = counts(*analyzed(random_spec(seed)))
    assert detected == true


@pytest.mark.parametrize("seed", [3, 8])
def test_a_whole_rep_hidden_by_a_gap_in_a_touch_and_go_set_is_counted(seed: int) -> None:
    # A 3 s link gap swallows a rep from set-up to lowering: the set's rhythm has a beat
    # missing where no data came, so the rep is counted (with no peak).
    sets = (SetSpec(reps=5, touch_and_go=True, sit_before=False),)
    spec = SessionSpec(seed=seed, sensors=DUAL, sets=sets, gaps=(Gap(3.0, in_set=0),))
    detected, true = counts(*analyzed(spec))
    assert detected == true


def gap_in_second_pull(base: SessionSpec, into: float, gap_s: float) -> SessionSpec:
    """``base`` with its link dropped for ``gap_s`` from ``into`` (a fraction) of the way
    through the second pull of its first set, over its lockout."""
    pull = simulate_session(base).truth["sets"][0]["reps"][1]
    at_s = pull["start"] + into * (pull["lockout"] - pull["start"])
    return replace(base, gaps=(Gap(gap_s, at_s=at_s),))


@pytest.mark.parametrize("sensors", [DUAL, {"lumbar": SensorSpec()}], ids=["dual", "single"])
@pytest.mark.parametrize("seed", [0, 3])
def test_a_rep_whose_lockout_the_link_lost_mid_set_is_counted(
    seed: int, sensors: dict[str, SensorSpec]
) -> None:
    # The sensor rests for a moment at each touch-and-go lockout, so a height from rest to
    # rest is measured over the rep; integrating nothing where the link brought no data read
    # the hips as 0.2-0.4 m lower afterwards, and the rep was taken for sitting down.
    sets = (SetSpec(reps=6, touch_and_go=True, sit_before=False),)
    base = SessionSpec(seed=seed, sensors=sensors, sets=sets)
    detected, true = counts(*analyzed(gap_in_second_pull(base, into=0.4, gap_s=0.9)))
    assert detected == true == [6]


@pytest.mark.parametrize("sensors", [DUAL, {"lumbar": SensorSpec()}], ids=["dual", "single"])
@pytest.mark.parametrize("seed", [0, 3])
def test_a_lockout_reached_in_a_link_gap_is_placed_in_the_gap(
    seed: int, sensors: dict[str, SensorSpec]
) -> None:
    # Where the link brought no data the hinge angle is held, so the lockout once showed
    # up only after the gap, a second late: scored as a missed rep and a false one.
    base = SessionSpec(seed=seed, sensors=sensors, sets=(SetSpec(reps=4, sit_before=False),))
    spec = gap_in_second_pull(base, into=0.5, gap_s=1.5)
    result, truth = analyzed(spec)
    gap = spec.gaps[0]
    assert gap.at_s is not None
    true = truth["sets"][0]["reps"][1]["lockout"]
    found = min((r.lockout for s in result.sets for r in s.reps), key=lambda t: abs(t - true))
    assert gap.at_s < found < gap.at_s + gap.duration_s
    assert abs(found - true) < 0.5
    assert all(r.start <= r.lockout <= r.end for s in result.sets for r in s.reps)


@pytest.mark.parametrize("seed", [200015, 300025, 400009, 1100000])
def test_sessions_with_gaps_and_distractors_are_counted_exactly(seed: int) -> None:
    # A plate picked up after a few steps with no stance; a set-up fidgeting through a
    # 1.2 s gap; a plate carried off through a gap; a touch-and-go rep in a 2.8 s gap.
    detected, true = counts(*analyzed(random_spec(seed)))
    assert detected == true


@pytest.mark.parametrize("sensors", [DUAL, {"lumbar": SensorSpec()}], ids=["dual", "single"])
def test_a_recording_that_starts_bent_over_the_bar_counts_its_first_pull(
    sensors: dict[str, SensorSpec],
) -> None:
    # The first data are the lifter gripping the bar: rest at the bottom is not the height
    # the lifter left, so the pull rising from it is not "standing up from a bench".
    sets = (SetSpec(reps=3), SetSpec(reps=4))
    spec = SessionSpec(seed=0, sensors=sensors, sets=sets, recording_start="bent_over")
    detected, true = counts(*analyzed(spec))
    assert detected == true


@pytest.mark.parametrize("seed", [2400028, 2500039, 2500060])
def test_standing_up_from_the_bar_before_a_bend_is_not_a_rep(seed: int) -> None:
    # After the last rep the bar is lowered, the lifter stands up unloaded and bends again
    # within seconds (wide population): that stand-up is not the set's last rise, but it
    # climbs 2-5x faster than the set's pulls and faster than any loaded pull.
    result, truth = analyzed(wide_spec(seed))
    stand_ups = [(a["start"], a["end"]) for a in truth["activities"] if a["kind"] == "stand_up"]
    lockouts = [rep.lockout for lift_set in result.sets for rep in lift_set.reps]
    assert stand_ups
    assert not [t for t in lockouts for start, end in stand_ups if start + 0.5 < t <= end + 0.5]


@pytest.mark.parametrize(("seed", "lost"), [(2500025, 0), (2200036, 1)])
def test_a_hinge_read_upside_down_before_any_walking_is_turned_round(seed: int, lost: int) -> None:
    # The strap sits so far off vertical that, before the lifter has walked, the tilts make
    # a lowering look like the pull: its "rise" lifts nothing while its "bend" climbs as a
    # pull does. Two such reps turn the hinge angle round and the set is followed again, so
    # the lockouts are the true ones, not the bottoms (0 of 11 found in 2200036 before).
    result, truth = analyzed(wide_spec(seed))
    detected = [rep.lockout for lift_set in result.sets for rep in lift_set.reps]
    true = [rep["lockout"] for lift_set in truth["sets"] for rep in lift_set["reps"]]
    found = sum(any(abs(d - t) < 0.75 for d in detected) for t in true)
    assert found == len(true) - lost


@pytest.mark.parametrize("seed", [0, 1])
def test_a_pelvis_tucked_under_at_the_bar_is_read_tilting_back(seed: int) -> None:
    # A trunk only 26 deg forward with 46 deg of lumbar flexion puts the pelvis 20 deg back
    # at the bar: the sacrum's own bends vote it forward, and lumbar flexion came out as the
    # difference of the two inclinations (15-34 deg for 45-52). Walking beside the L1
    # sensor tells which way the sacrum sensor faces.
    lifter = replace(
        random_lifter(np.random.default_rng([seed, 1])),
        trunk_bottom_deg=26.0,
        rounded_flexion_deg=46.0,
    )
    sets = (SetSpec(reps=3, back="rounded"), SetSpec(reps=3, back="rounded"))
    result, truth = analyzed(SessionSpec(seed=seed, sensors=DUAL, sets=sets, lifter=lifter))
    true = [rep for lift_set in truth["sets"] for rep in lift_set["reps"]]
    errors = [
        rep.peak_flexion_deg - match["peak_flexion_deg"]
        for lift_set in result.sets
        for rep in lift_set.reps
        for match in true
        if abs(match["lockout"] - rep.lockout) < 0.75
    ]
    assert len(errors) == len(true)
    assert max(abs(e) for e in errors) < 4.0


def test_a_rep_is_measured_the_way_round_it_was_counted() -> None:
    # Before any walking, the side a bend tips the L1 sensor's face to is read off the
    # largest tilts so far; a lifter leaning back past the set's shallow first bends turns
    # it, here between the fourth rep's lockout and the moment the rep was settled. That
    # rep was then measured with its forward axis the wrong way round: 35.4 deg low (0.2
    # deg for 35.6). A rep's ticks were found with the side in force when it was counted,
    # and it is measured with that side.
    result, truth = analyzed(wide_spec(3800016))
    errors = {
        index: rep.peak_flexion_deg - match["peak_flexion_deg"]
        for lift_set in result.sets
        for rep in lift_set.reps
        for index, match in enumerate(truth["sets"][0]["reps"])
        if abs(match["lockout"] - rep.lockout) < 0.75
    }
    assert 3 in errors  # the fourth rep, the one measured the wrong way round
    assert max(abs(e) for e in errors.values()) < 5.0


@pytest.mark.parametrize(
    ("seed", "roles"), [(1, ("lumbar",)), (4, ("lumbar",)), (7, ("upper", "lower"))]
)
def test_every_pull_after_walking_in_on_an_uncalibrated_gyroscope_is_found(
    seed: int, roles: tuple[str, ...]
) -> None:
    # Offsets of 8-9 deg/s (an LSM6DS3's datasheet allows 10) and a session that starts
    # with a walk: no still moment until the lifter stops to set up. Ignoring the
    # accelerometer 20 deg off let the estimate turn on, and a pull of each of these was
    # lost; trusting it until the sensor has been still finds them all.
    offsets = replace(
        SensorErrors.ideal(),
        gyro_bias_rps=(math.radians(8.0), math.radians(-9.0), math.radians(6.0)),
        gyro_noise_rps=math.radians(0.05),
        accel_noise_mps2=0.02,
    )
    sensors = {role: SensorSpec(errors=offsets) for role in roles}
    sets = (SetSpec(reps=5), SetSpec(reps=5))
    result, truth = analyzed(
        SessionSpec(seed=seed, sensors=sensors, sets=sets, include_calibration=False)
    )
    assert truth["activities"][0]["kind"] == "walk"
    detected = [rep.lockout for lift_set in result.sets for rep in lift_set.reps]
    true = [rep["lockout"] for lift_set in truth["sets"] for rep in lift_set["reps"]]
    assert all(any(abs(d - t) < 0.75 for d in detected) for t in true)
