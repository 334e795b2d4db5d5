"""The streaming pipeline: sample batches in, session events and live angles out.

This is the only implementation of the measurement: live sessions feed it batches as they
arrive, offline analysis feeds it a recording's batches, so both give identical results. All
state changes happen on ticks of a fixed grid, which makes the output independent of how the
input is cut into batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from processing.detect.alerts import AlertChange, AlertSettings, FlexionAlerter, ReferenceSettings
from processing.detect.angles import mean_direction
from processing.detect.history import TickHistory
from processing.detect.motion import N_FEATURES, Feature, motion_features
from processing.detect.orientation import OrientationFilter, OrientationSettings
from processing.detect.posture import (
    PostureSettings,
    SensorPosture,
    UprightCalibrator,
    WalkingPosture,
    WalkingSettings,
)
from processing.detect.rep_settings import RepSettings
from processing.detect.reps import RepDetector, RepTicks
from processing.detect.ticks import TickAligner, TickBlock, TickSettings
from processing.events import AngleTrace, Event, EventType, FlexionEvent, LiftSet, Mode, Rep
from sensor.samples import FloatArray, SampleBatch, SensorStatus

#: Default alert thresholds in degrees: lumbar flexion (two sensors) and trunk inclination
#: (one sensor). Lifters should set their own; see docs/measurement.md.
DEFAULT_THRESHOLD_DEG: dict[Mode, float] = {"dual": 30.0, "single": 60.0}


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Every setting of the pipeline, grouped by stage."""

    #: Alert threshold in degrees; None picks ``DEFAULT_THRESHOLD_DEG`` for the mode. It
    #: holds until the reference reps (``reference``) set a relative one, if asked to.
    threshold_deg: float | None = None
    reference: ReferenceSettings = field(default_factory=ReferenceSettings)
    orientation: OrientationSettings = field(default_factory=OrientationSettings)
    ticks: TickSettings = field(default_factory=TickSettings)
    posture: PostureSettings = field(default_factory=PostureSettings)
    walking: WalkingSettings = field(default_factory=WalkingSettings)
    reps: RepSettings = field(default_factory=RepSettings)
    #: Rate of the live angle stream for displays, in Hz.
    live_rate_hz: float = 25.0
    #: How much of the past is kept for settling rep metrics, in s.
    history_s: float = 60.0
    #: With two sensors, alerts fire only while the pelvis is tilted forward by more than
    #: this, in degrees: slumping on a bench rounds the back too, but lifts nothing.
    hinged_pelvis_deg: float = 10.0
    #: A rep with more than this fraction of its ticks lost to gaps has no measured peak.
    max_missing_in_rep: float = 0.05
    #: Lockout posture is averaged over this long after lockout, in s.
    lockout_window_s: float = 0.3


@dataclass(slots=True)
class Update:
    """What one call into the pipeline produced."""

    events: list[Event]
    angles: AngleTrace


@dataclass(slots=True)
class AnalysisResult:
    """Everything measured in a session: the content of contract 2."""

    mode: Mode
    threshold_deg: float
    sets: list[LiftSet]
    flexion_events: list[FlexionEvent]
    calibration: str | None

    def to_json(self) -> dict[str, Any]:
        """Contract 2 of DESIGN.md (plus extra fields, which the contract allows)."""
        return {
            "mode": self.mode,
            "threshold_deg": self.threshold_deg,
            "calibration": self.calibration,
            "sets": [s.to_dict() for s in self.sets],
            "flexion_events": [e.to_dict() for e in self.flexion_events],
        }


def mode_for(roles: tuple[str, ...]) -> Mode:
    """Two sensors at ``upper`` and ``lower`` measure lumbar flexion; anything else inclination."""
    return "dual" if {"upper", "lower"} <= set(roles) else "single"


#: Below this pelvis tilt, in degrees, the hinge is carried through an upper-sensor gap by the
#: last difference of the two angles rather than their ratio.
CARRY_RATIO_MIN_DEG = 10.0


class Pipeline:
    """Orientation, upright reference, angles, reps, sets and alerts for one session."""

    def __init__(self, roles: tuple[str, ...], config: PipelineConfig | None = None) -> None:
        """Prepare a session for sensors with the given roles."""
        self.config = config or PipelineConfig()
        self.roles = tuple(roles)
        self.mode: Mode = mode_for(self.roles)
        self.threshold_deg = self.config.threshold_deg or DEFAULT_THRESHOLD_DEG[self.mode]
        rate_hz = self.config.ticks.tick_rate_hz
        self._rate_hz = rate_hz
        self._filters = {r: OrientationFilter(self.config.orientation) for r in self.roles}
        self._postures = {r: SensorPosture(self.config.posture) for r in self.roles}
        self._aligner = TickAligner(self.roles, N_FEATURES, self.config.ticks)
        capacity = round(self.config.history_s * rate_hz)
        self._history = TickHistory(self.roles, N_FEATURES, capacity)
        self._calibrator = UprightCalibrator(self.config.posture, rate_hz)
        self._motion_role = "upper" if self.mode == "dual" else self.roles[0]
        self._walking = WalkingPosture(self.config.walking, self.roles, rate_hz)
        self._detector = RepDetector(self.config.reps, rate_hz, self._history, self._motion_role)
        self._alerter = FlexionAlerter(AlertSettings(self.threshold_deg))
        self._reference_peak_deg: float | None = None
        self._live_every = max(round(rate_hz / self.config.live_rate_hz), 1)
        self.sets: list[LiftSet] = []
        self.flexion_events: list[FlexionEvent] = []
        self._set_open = False
        #: Upper and lower angles at the last tick both were seen (deg), for carrying the
        #: hinge through a gap of the upper sensor.
        self._last_pair_deg = (float("nan"), float("nan"))
        self._started = False
        self._finished = False

    # -- public API -------------------------------------------------------------------------

    def feed(self, batch: SampleBatch) -> Update:
        """Process one batch of one sensor's samples."""
        events = self._start_events(float(batch.t_s[0])) if len(batch) else []
        if len(batch) == 0 or batch.role not in self._filters:
            return Update(events, _empty_trace())
        up = self._filters[batch.role].update(batch)
        self._aligner.push(batch.role, batch.t_s, up, motion_features(batch, up))
        return self._process(self._aligner.release(), events)

    def status(self, status: SensorStatus) -> Update:
        """Pass a sensor's link change through as an event; lost sensors are not waited for."""
        self._aligner.set_active(status.role, status.connected)
        kind: EventType = "sensor_connected" if status.connected else "sensor_lost"
        data: dict[str, Any] = {"role": status.role, **status.details}
        if status.reason:
            data["reason"] = status.reason
        events = [*self._start_events(status.t_s), Event(kind, status.t_s, data)]
        return self._process(self._aligner.release(), events)

    def finish(self) -> Update:
        """Flush every sensor, settle what is pending and close the session."""
        if self._finished:
            return Update([], _empty_trace())
        update = self._process(self._aligner.release(final=True), [])
        t_end = self._history.newest / self._rate_hz
        update.events.extend(self._close_set(t_end))
        reps = sum(len(s.reps) for s in self.sets)
        update.events.append(Event("session_end", t_end, {"sets": len(self.sets), "reps": reps}))
        self._finished = True
        return update

    def result(self) -> AnalysisResult:
        """Sets, reps and flexion events measured so far."""
        return AnalysisResult(
            self.mode, self.threshold_deg, self.sets, self.flexion_events, self._calibrator.source
        )

    # -- per batch --------------------------------------------------------------------------

    def _start_events(self, t_s: float) -> list[Event]:
        """The ``session_start`` event, on the first call only."""
        if self._started:
            return []
        self._started = True
        data = {"mode": self.mode, "roles": list(self.roles), "threshold_deg": self.threshold_deg}
        return [Event("session_start", t_s, data)]

    def _all_still(self, block: TickBlock) -> np.ndarray:
        """Per tick: every sensor's gyroscope quiet and accelerometer reading just gravity."""
        still = [self.config.posture.still(f) for f in block.features.values()]
        return np.asarray(np.logical_and.reduce(still))

    def _process(self, block: TickBlock | None, events: list[Event]) -> Update:
        """Run the tick loop over a released block."""
        if block is None:
            return Update(events, _empty_trace())
        angles = self._angles(block)
        self._history.store(block.index, block.up, block.features, self._stored_angles(angles))
        deviation = block.features[self._motion_role][:, Feature.ACCEL_DEVIATION_MPS2]
        self._walking.update(deviation, block.up)
        all_still = self._all_still(block)
        for j in range(len(block)):
            if self._tick(block, j, angles, bool(all_still[j]), events):
                angles = self._angles(block)
                later = slice(j + 1, None)
                hinge, pelvis, lumbar = self._stored_angles(angles)
                self._history.set_angles(
                    block.index[later], (hinge[later], pelvis[later], lumbar[later])
                )
        if self.mode == "dual":
            upper_then, lower_then = angles["upper_then"][-1], angles["lower_then"][-1]
            self._last_pair_deg = (float(upper_then), float(lower_then))
        keep = block.index % self._live_every == 0
        return Update(events, AngleTrace(block.t_s[keep], angles["alert"][keep]))

    def _angles(self, block: TickBlock) -> dict[str, FloatArray]:
        """Hinge angle (for rep detection), alert angle and pelvis angle (NaN with one
        sensor) for a block; with two sensors also the angles the hinge is carried on by."""
        return self._angles_of(block.up)

    def _angles_of(self, up: dict[str, FloatArray]) -> dict[str, FloatArray]:
        """The angles of consecutive ticks, from every sensor's up vectors."""
        per_role = {r: self._postures[r].angle_deg(up[r]) for r in self.roles}
        if self.mode == "dual":
            upper, lower = per_role["upper"], per_role["lower"]
            lumbar = upper - lower
            upper_then, lower_then = self._last_seen_pair(upper, lower, lumbar)
            carried = carried_hinge_deg(lower, upper_then, lower_then)
            hinge = np.where(np.isnan(upper), carried, upper)
            return {
                "hinge": hinge,
                "alert": lumbar,
                "pelvis": lower,
                "upper_then": upper_then,
                "lower_then": lower_then,
            }
        only = per_role[self.roles[0]]
        return {"hinge": only, "alert": only, "pelvis": np.full(only.shape, np.nan)}

    def _last_seen_pair(
        self, upper: FloatArray, lower: FloatArray, lumbar: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Per tick, the upper and lower angles at the latest tick (up to it) with both seen."""
        both = ~np.isnan(lumbar)
        upper_then = forward_filled(np.where(both, upper, np.nan), self._last_pair_deg[0])
        lower_then = forward_filled(np.where(both, lower, np.nan), self._last_pair_deg[1])
        return upper_then, lower_then

    def _stored_angles(
        self, angles: dict[str, FloatArray]
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Hinge, pelvis and lumbar angles for the history. The rep detector judges postures
        by the last two, so they are NaN while the upright reference is only provisional (a
        still moment may have been a slouch) and with one sensor."""
        if self.mode == "dual" and self._calibrator.source in ("stance", "lockout"):
            return angles["hinge"], angles["pelvis"], angles["alert"]
        unknown = np.full_like(angles["hinge"], np.nan)
        return angles["hinge"], unknown, unknown

    # -- per tick ---------------------------------------------------------------------------

    def _tick(
        self, block: TickBlock, j: int, angles: dict[str, FloatArray], still: bool, out: list[Event]
    ) -> bool:
        """Advance every stage by one tick; True when the upright reference changed."""
        i, t_s = int(block.index[j]), float(block.t_s[j])
        changed = self._calibrate_on_stillness(j, i, t_s, still, out)
        still_ticks = self._calibrator.still_ticks
        reps, set_ended = self._detector.step(i, float(angles["hinge"][j]), still_ticks)
        pelvis_deg = angles["pelvis"][j]
        allowed = pelvis_deg != pelvis_deg or pelvis_deg > self.config.hinged_pelvis_deg
        change = self._alerter.step(t_s, float(angles["alert"][j]), bool(allowed))
        if change is not None:
            out.append(self._alert_event(change))
        for rep_ticks in reps:
            self._accept_rep(rep_ticks, out)
            changed = True  # the rep refined the forward axis, maybe the upright too
        if set_ended:
            out.extend(self._close_set(t_s))
        return changed

    def _calibrate_on_stillness(
        self, j: int, i: int, t_s: float, still: bool, out: list[Event]
    ) -> bool:
        """Adopt a stance (or provisional) upright reference when one completes.

        A still lifter may be gripping the bar, bent over: a still posture far from how the
        lifter walked about is not upright, whatever its length.
        """
        before_first_rep = not self.sets
        walked = self._walking.walked_before(j)
        source = self._calibrator.observe_still(i, still, before_first_rep, walked)
        if source is None:
            return False
        first = i - self._calibrator.still_ticks + 1
        means = {r: mean_direction(self._history.up(r, first, i)) for r in self.roles}
        still_up = {r: v for r, v in means.items() if v is not None}
        provisional = source == "provisional"
        if len(still_up) < len(self.roles) or not self._walking.vets(j, still_up, provisional):
            return False
        for role, posture in self._postures.items():
            posture.set_upright(still_up[role])
        first_reference = self._calibrator.source is None
        self._calibrator.source = source
        if source == "stance":
            start_s = first / self._rate_hz
            out.append(Event("calibrated", t_s, {"source": "stance", "start": start_s}))
        if first_reference:
            self._replay_before_reference(i, out)
        return True

    def _replay_before_reference(self, i: int, out: list[Event]) -> None:
        """Run a fresh detector over the kept past once the first upright reference exists,
        so reps lifted before it (no stance, no still moment yet) are counted, late."""
        first = max(self._history.newest - self._history.capacity + 1, 0)
        if first >= i:
            return
        past = np.arange(first, i)
        angles = self._angles_of({r: self._history.up(r, first, i - 1) for r in self.roles})
        self._history.set_angles(past, self._stored_angles(angles))
        self._detector = self._detector.restarted()
        for tick, hinge_deg in zip(past.tolist(), angles["hinge"].tolist(), strict=True):
            reps, set_ended = self._detector.step(tick, hinge_deg, 0)
            for rep_ticks in reps:
                self._accept_rep(rep_ticks, out)
            if set_ended:
                out.extend(self._close_set(tick / self._rate_hz))

    def _accept_rep(self, ticks: RepTicks, out: list[Event]) -> None:
        """Let a detected rep refine the posture references, then measure and announce it.

        A rep whose lockout was never seen at rest teaches nothing: hidden by a data gap,
        with the sensor still moving after it, its orientation may not be known yet.
        """
        if self._calibrate_on_lockout(ticks, out):
            for role in self.roles:
                self._postures[role].learn_forward(self._history.up(role, ticks.start, ticks.end))
        out.extend(self._add_rep(ticks))

    def _calibrate_on_lockout(self, rep: RepTicks, out: list[Event]) -> bool:
        """Let lockout postures refine or overrule the upright reference; False when no
        sensor was seen at rest at the lockout."""
        last = rep.lockout + round(self.config.lockout_window_s * self._rate_hz)
        means = {r: mean_direction(self._still_up(r, rep.lockout, last)) for r in self.roles}
        lockout_up = {r: v for r, v in means.items() if v is not None}
        if not lockout_up:
            return False
        upright = self._calibrator.add_lockout(lockout_up, self._postures)
        if upright is None:
            return True
        for role, vector in upright.items():
            self._postures[role].set_upright(vector)
        if self._calibrator.source != "lockout":
            self._calibrator.source = "lockout"
            out.append(Event("calibrated", rep.lockout / self._rate_hz, {"source": "lockout"}))
        return True

    def _still_up(self, role: str, first: int, last: int) -> FloatArray:
        """A sensor's up vectors from tick ``first`` to ``last``, NaN where it moved."""
        up = self._history.up(role, first, last)
        up[~self.config.posture.still(self._history.features(role, first, last))] = np.nan
        return up

    def _add_rep(self, ticks: RepTicks) -> list[Event]:
        """Measure a detected rep, file it in its set and announce it."""
        rep = self._measure(ticks)
        events: list[Event] = []
        if self._set_open and rep.start - self.sets[-1].end > self.config.reps.max_rest_in_set_s:
            events.extend(self._close_set(rep.start))
        if not self._set_open:
            self.sets.append(LiftSet())
            self._set_open = True
            events.append(Event("set_start", rep.start, {"set": len(self.sets)}))
        current = self.sets[-1]
        current.reps.append(rep)
        data = {"set": len(self.sets), "rep": len(current.reps), **rep.to_dict()}
        events.append(Event("rep", rep.end, data))
        events.extend(self._adopt_reference_threshold(rep.end))
        return events

    def _adopt_reference_threshold(self, t_s: float) -> list[Event]:
        """Once the reference reps are in, alert relative to their usual peak angle."""
        reference = self.config.reference
        if reference.above_deg is None or self._reference_peak_deg is not None:
            return []
        peaks = [r.peak_flexion_deg for s in self.sets for r in s.reps]
        measured = [p for p in peaks if p == p][: reference.reps]
        if len(measured) < reference.reps:
            return []
        self._reference_peak_deg = float(np.median(measured))
        self.threshold_deg = self._reference_peak_deg + reference.above_deg
        self._alerter.set_threshold(self.threshold_deg)
        data = {
            "threshold_deg": round(self.threshold_deg, 2),
            "reference_peak_deg": round(self._reference_peak_deg, 2),
            "reference_reps": reference.reps,
        }
        return [Event("threshold", t_s, data)]

    def _measure(self, ticks: RepTicks) -> Rep:
        """Peak angle and time above threshold of a rep, with the current upright reference."""
        first = min(ticks.start, ticks.deepest)
        per_role = {
            r: self._postures[r].angle_deg(self._history.up(r, first, ticks.end))
            for r in self.roles
        }
        if self.mode == "dual":
            angle = per_role["upper"] - per_role["lower"]
        else:
            angle = per_role[self.roles[0]]
        missing = np.isnan(angle)
        seen_peak = float(np.nanmax(angle)) if not missing.all() else float("nan")
        # A gap may hide the true peak: then no peak is reported, but an angle seen above
        # the threshold still proves the alert.
        complete = missing.mean() <= self.config.max_missing_in_rep
        above_s = float(np.count_nonzero(angle > self.threshold_deg)) / self._rate_hz
        return Rep(
            start=ticks.start / self._rate_hz,
            lockout=ticks.lockout / self._rate_hz,
            end=ticks.end / self._rate_hz,
            peak_flexion_deg=seen_peak if complete else float("nan"),
            flexion_alert=seen_peak > self.threshold_deg,
            seconds_above_threshold=above_s,
        )

    def _close_set(self, t_s: float) -> list[Event]:
        """Announce the end of the open set, if any."""
        if not self._set_open:
            return []
        self._set_open = False
        last = self.sets[-1]
        return [Event("set_end", last.end, {"set": len(self.sets), "reps": len(last.reps)})]

    def _alert_event(self, change: AlertChange) -> Event:
        """A ``flexion_alert`` when the alert goes on, ``flexion_clear`` when it goes off."""
        if change.ended is None:
            set_no = len(self.sets) + (0 if self._set_open else 1)
            rep_no = (len(self.sets[-1].reps) if self._set_open else 0) + 1
            data = {
                "angle_deg": round(change.angle_deg, 2),
                "threshold_deg": self.threshold_deg,
                "set": set_no,
                "rep": rep_no,
            }
            return Event("flexion_alert", change.t_s, data)
        self.flexion_events.append(change.ended)
        return Event("flexion_clear", change.t_s, change.ended.to_dict())


def carried_hinge_deg(
    lower_deg: FloatArray, upper_then_deg: FloatArray, lower_then_deg: FloatArray
) -> FloatArray:
    """The upper angle estimated from the lower one while the upper sensor is silent.

    The lumbar spine flexes roughly in proportion to the pelvis tilt during a hinge, so the
    last seen ratio of the two carries over (the hinge neither jumps when the gap begins nor
    stays bent at lockout); near upright, where the ratio means nothing, the last difference
    does. With nothing seen yet, the lower angle alone.
    """
    tilted = np.abs(lower_then_deg) > CARRY_RATIO_MIN_DEG
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = lower_deg * upper_then_deg / lower_then_deg
    shifted = lower_deg + (upper_then_deg - lower_then_deg)
    carried = np.where(tilted, scaled, shifted)
    return np.where(np.isnan(carried), lower_deg, carried)


def forward_filled(values: FloatArray, before: float) -> FloatArray:
    """Each value, or where it is NaN the last one before it (``before`` at the start)."""
    seen = ~np.isnan(values)
    last = np.maximum.accumulate(np.where(seen, np.arange(values.size), -1))
    return np.where(last >= 0, values[np.maximum(last, 0)], before)


def _empty_trace() -> AngleTrace:
    """A live-angle trace with no points."""
    return AngleTrace(np.empty(0), np.empty(0))
