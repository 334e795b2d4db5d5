"""The streaming pipeline: sample batches in, session events and live angles out.

This is the only implementation of the measurement: live sessions feed it batches as they
arrive, offline analysis feeds it a recording's batches, so both give identical results. All
state changes happen on ticks of a fixed grid, and every filter carries its state across
batches, which makes the output independent of how the input is cut into batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from processing.detect.alerts import AlertSettings, FlexionAlerter, ReferenceSettings
from processing.detect.angles import mean_direction
from processing.detect.history import TickHistory
from processing.detect.measure import RepMeasurer
from processing.detect.motion import N_FEATURES, Feature, motion_features
from processing.detect.orientation import OrientationFilter, OrientationSettings
from processing.detect.posture import PostureSettings, SensorPosture, UprightReference
from processing.detect.reps import RepCounter, RepSettings, RepTicks
from processing.detect.sets import SetBook
from processing.detect.signals import CountingSignals, SignalConditioner, SignalSettings
from processing.detect.ticks import TickAligner, TickBlock, TickSettings
from processing.detect.walking_forward import WalkingForward
from processing.events import AngleTrace, Event, EventType, FlexionEvent, LiftSet, Mode
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
    signals: SignalSettings = field(default_factory=SignalSettings)
    reps: RepSettings = field(default_factory=RepSettings)
    #: Rate of the live angle stream for displays, in Hz.
    live_rate_hz: float = 25.0
    #: How much of the past is kept for judging and measuring reps, in s.
    history_s: float = 60.0
    #: With two sensors, alerts fire only while the pelvis is tilted forward by more than
    #: this, in degrees: slumping on a bench rounds the back too, but lifts nothing.
    hinged_pelvis_deg: float = 10.0
    #: A rep with more than this fraction of its ticks lost to gaps has no measured peak.
    max_missing_in_rep: float = 0.05
    #: The lockout posture is averaged over this long around the lockout, in s.
    lockout_window_s: float = 0.2


class Tick(NamedTuple):
    """One tick of the loop, as plain Python numbers."""

    number: int
    t_s: float
    hinge_deg: float
    #: +1 or -1: the way round the hinge angle was read (see ``CountingSignals``).
    forward_sign: float
    walked: bool
    #: Every sensor at rest.
    still: bool
    alert_deg: float
    #: Pelvis tilt, deg (NaN with one sensor).
    pelvis_deg: float


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
        """Contract 2 (docs/contracts.md), plus extra fields, which the contract allows."""
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


class Pipeline:
    """Orientation, counting signals, reps, sets, upright reference, angles and alerts."""

    def __init__(self, roles: tuple[str, ...], config: PipelineConfig | None = None) -> None:
        """Prepare a session for sensors with the given roles."""
        self.config = config or PipelineConfig()
        self.roles = tuple(roles)
        self.mode: Mode = mode_for(self.roles)
        threshold_deg = self.config.threshold_deg
        if threshold_deg is None:
            threshold_deg = DEFAULT_THRESHOLD_DEG[self.mode]
        rate_hz = self._rate_hz = self.config.ticks.tick_rate_hz
        self._motion_role = "upper" if self.mode == "dual" else self.roles[0]
        self._filters = {r: OrientationFilter(self.config.orientation) for r in self.roles}
        self._postures = {r: SensorPosture(self.config.posture) for r in self.roles}
        history_ticks = round(self.config.history_s * rate_hz)
        walk_ticks = round(self.config.posture.walking_forward_s * rate_hz)
        self._walking_forward = WalkingForward(walk_ticks, keep_ticks=history_ticks)
        self._aligner = TickAligner(self.roles, N_FEATURES, self.config.ticks)
        self._history = TickHistory(self.roles, N_FEATURES, history_ticks)
        self._reference = UprightReference(self.config.posture, rate_hz, self.roles)
        signals, reps = self.config.signals, self.config.reps
        self._signals = SignalConditioner(signals, rate_hz, reps.walking_mps2, reps.min_swing_deg)
        self._counter = RepCounter(reps, rate_hz, self._history, self._motion_role, signals)
        self._alerter = FlexionAlerter(AlertSettings(threshold_deg))
        self._book = SetBook(
            threshold_deg, self.config.reference, self.config.reps.max_rest_in_set_s
        )
        self._measurer = RepMeasurer(
            self._history,
            self._postures,
            self.mode,
            rate_hz,
            self.config.max_missing_in_rep,
            signals.hinge,
        )
        self._live_every = max(round(rate_hz / self.config.live_rate_hz), 1)
        self._started = False
        self._finished = False

    @property
    def threshold_deg(self) -> float:
        """The alert threshold in force, in degrees."""
        return self._book.threshold_deg

    @property
    def sets(self) -> list[LiftSet]:
        """The sets found so far."""
        return self._book.sets

    def feed(self, batch: SampleBatch) -> Update:
        """Process one batch of one sensor's samples."""
        events = self._start_events(float(batch.t_s[0])) if len(batch) else []
        if len(batch) == 0 or batch.role not in self._filters:
            return Update(events, _empty_trace())
        oriented = self._filters[batch.role].update(batch)
        self._aligner.push(batch.role, batch.t_s, oriented.up, motion_features(*oriented))
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
        for rep_ticks in self._counter.finish():
            self._accept_rep(rep_ticks, update.events, self._history.newest)
        t_end = self._history.newest / self._rate_hz
        update.events.extend(self._book.close())
        reps = sum(len(s.reps) for s in self.sets)
        update.events.append(Event("session_end", t_end, {"sets": len(self.sets), "reps": reps}))
        self._finished = True
        return update

    def result(self) -> AnalysisResult:
        """Sets, reps and flexion events measured so far."""
        book = self._book
        return AnalysisResult(
            self.mode, book.threshold_deg, book.sets, book.flexion_events, self._reference.source
        )

    def _start_events(self, t_s: float) -> list[Event]:
        """The ``session_start`` event, on the first call only."""
        if self._started:
            return []
        self._started = True
        data = {"mode": self.mode, "roles": list(self.roles), "threshold_deg": self.threshold_deg}
        return [Event("session_start", t_s, data)]

    def _process(self, block: TickBlock | None, events: list[Event]) -> Update:
        """Condition a released block, then run the tick loop over it."""
        if block is None:
            return Update(events, _empty_trace())
        motion = self._motion_role
        vertical = block.features[motion][:, Feature.VERTICAL_MPS2]
        pelvis_up = block.up.get("lower") if self.mode == "dual" else None
        counting = self._signals.update(block.up[motion], vertical, pelvis_up)
        signals = (counting.hinge_deg, counting.footfall_mps2, counting.pelvis_deg)
        if self.mode == "dual":
            self._walking_forward.add(block.index, block.features, counting.walking)
        self._history.store(block.index, block.up, block.features, signals)
        self._reference.standing.add(block.index, block.up, block.features)
        still = [self.config.posture.still(f) for f in block.features.values()]
        ticks = _tick_values(block, counting, np.logical_and.reduce(still))
        angles = self._measurer.angles(block.up)
        alert_deg, pelvis_deg = angles.alert_deg.tolist(), angles.pelvis_deg.tolist()
        for j, (i, t_s, hinge_deg, sign, walked, all_still) in enumerate(ticks):
            tick = Tick(i, t_s, hinge_deg, sign, walked, all_still, alert_deg[j], pelvis_deg[j])
            if self._tick(tick, events):
                angles = self._measurer.angles(block.up)
                alert_deg, pelvis_deg = angles.alert_deg.tolist(), angles.pelvis_deg.tolist()
        keep = block.index % self._live_every == 0
        return Update(events, AngleTrace(block.t_s[keep], angles.alert_deg[keep]))

    def _tick(self, tick: Tick, out: list[Event]) -> bool:
        """Advance every stage by one tick; True when the upright reference changed."""
        i = tick.number
        changed = self._calibrate_on_stance(i, tick.t_s, tick.still, tick.hinge_deg, out)
        reps, set_closed = self._counter.step(i, tick.hinge_deg, tick.forward_sign, tick.walked)
        pelvis_deg = tick.pelvis_deg
        allowed = pelvis_deg != pelvis_deg or pelvis_deg > self.config.hinged_pelvis_deg
        change = self._alerter.step(tick.t_s, tick.alert_deg, allowed)
        if change is not None:
            out.append(self._book.alert_event(change, self._counter.rep_under_way()))
        for rep_ticks in reps:
            self._accept_rep(rep_ticks, out, i)
            changed = True  # the rep refined the forward axis, maybe the upright too
        if set_closed:
            out.extend(self._book.close())
        return changed

    def _calibrate_on_stance(
        self, i: int, t_s: float, still: bool, tilt_deg: float, out: list[Event]
    ) -> bool:
        """Adopt the calibration stance as the upright reference when one completes."""
        if not self._reference.stance_completed(i, still, tilt_deg):
            return False
        first = i - self._reference.still_ticks + 1
        # The accelerometer, not the orientation filter: the filter may still be settling
        # when a session has just begun, before the gyroscope's bias is known.
        means = {
            r: mean_direction(self._history.accelerometer_mps2(r, first, i)) for r in self.roles
        }
        if any(v is None for v in means.values()):
            return False
        for role, posture in self._postures.items():
            posture.set_upright(means[role])  # type: ignore[arg-type]
        self._reference.source = "stance"
        out.append(Event("calibrated", t_s, {"source": "stance", "start": first / self._rate_hz}))
        return True

    def _accept_rep(self, ticks: RepTicks, out: list[Event], now: int) -> None:
        """Let a rep's lockout refine the references, then measure, file and announce it.

        Each rep is measured from its own lockout posture (upright by definition), or from
        the calibration stance or where the lifter stands between sets where the two agree:
        a false rep elsewhere in the session, or a strap that slowly shifts, cannot bend
        this rep's numbers.
        """
        half = round(self.config.lockout_window_s * self._rate_hz / 2)
        lockout_up = _mean_up_around(self._history, self.roles, ticks.upright, half)
        self._calibrate_on_lockout(lockout_up, ticks, out, now)
        self._postures[self._motion_role].learn_face_side(ticks.face_side)
        for role, up in lockout_up.items():
            deepest = self._history.up(role, ticks.deepest, ticks.deepest)[0]
            self._postures[role].learn_forward(deepest, up)
        if self.mode == "dual":
            self._walking_forward.orient(self._postures, ticks.end)
        uprights = self._reference.rep_uprights(lockout_up, self._postures, now)
        rep = self._measurer.measure(ticks, self.threshold_deg, uprights)
        out.extend(self._book.add_rep(rep))
        adopted = self._book.adopt_reference_threshold(rep.end)
        if adopted:
            self._alerter.set_threshold(self.threshold_deg)
            out.extend(adopted)

    def _calibrate_on_lockout(
        self, lockout_up: dict[str, FloatArray], rep: RepTicks, out: list[Event], now: int
    ) -> None:
        """Let the lockout posture (upright by definition), or standing near it, be upright."""
        if not lockout_up:
            return
        ruling = self._reference.add_lockout(lockout_up, self._postures, now)
        if ruling is None:
            return
        source, upright = ruling
        for role, vector in upright.items():
            self._postures[role].set_upright(vector)
        if self._reference.source != source:
            self._reference.source = source
            out.append(Event("calibrated", rep.lockout / self._rate_hz, {"source": source}))


def _mean_up_around(
    history: TickHistory, roles: tuple[str, ...], tick: int, half: int
) -> dict[str, FloatArray]:
    """Each sensor's mean up vector over ticks ``tick - half..tick + half`` (a rep's
    lockout posture, around its most upright moment), where any was seen."""
    means = {r: mean_direction(history.up(r, tick - half, tick + half)) for r in roles}
    return {r: v for r, v in means.items() if v is not None}


def _tick_values(
    block: TickBlock, counting: CountingSignals, all_still: np.ndarray
) -> Iterator[tuple[int, float, float, float, bool, bool]]:
    """Per tick of a block, as plain Python numbers (numpy scalars would cost more than the
    tick's own work): number, time, hinge angle, forward sign, walked, all still."""
    return zip(
        block.index.tolist(),
        block.t_s.tolist(),
        counting.hinge_deg.tolist(),
        counting.forward_sign.tolist(),
        counting.walked.tolist(),
        all_still.tolist(),
        strict=True,
    )


def _empty_trace() -> AngleTrace:
    """A live-angle trace with no points."""
    return AngleTrace(np.empty(0), np.empty(0))
