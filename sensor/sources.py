"""Sources picked by URL, as pyserial picks ``loop://``: ``ble://``, ``replay://``, ``sim://``.

Every source yields the same items: :class:`~sensor.samples.SampleBatch` for data and
:class:`~sensor.samples.SensorStatus` when a sensor's link comes up or goes down.

- ``ble://<address-or-name>?profile=<p>&role=<r>&rate=<hz>``: a Bluetooth IMU (``profile``
  required: ``witmotion``, ``movesense``, ``thingy52``, ``backspotter``; ``role`` defaults to
  ``lumbar``; ``rate`` to the profile's nominal rate).
- ``replay://<file>?speed=<x|max>``: a recording, ``x`` times real time (default 1).
- ``sim://?seed=<n>&mode=dual|single&speed=<x|max>``: a simulated session.

Several URLs (two sensors, ``upper`` and ``lower``) make one source with
:func:`open_sources` or :func:`combine_sources`; every BLE sensor of the process is timed on
one host clock, so their independent device clocks land on one time base.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sensor.exc import SourceURLError
from sensor.samples import DEFAULT_ROLE, ROLES, SampleBatch, SensorStatus, roles_problem

if TYPE_CHECKING:
    from sensor.ble import BleBackend, HostClock, LinkPolicy

SourceItem = SampleBatch | SensorStatus

SCHEMES = ("ble", "replay", "sim")
_ALLOWED_PARAMS = {
    "ble": {"profile", "role", "rate"},
    "replay": {"speed"},
    "sim": {"seed", "mode", "speed"},
}


class Source(Protocol):
    """A stream of sample batches from one or more sensors on one time base."""

    @property
    def roles(self) -> tuple[str, ...]:
        """Roles of the sensors this source delivers (``lumbar`` or ``upper`` + ``lower``)."""
        ...

    @property
    def dropped_samples(self) -> int:
        """Samples dropped so far as physically impossible (see :mod:`sensor.plausible`)."""
        ...

    @property
    def truncated(self) -> bool:
        """True when the input was cut short (a recording file without its end)."""
        ...

    def stream(self) -> AsyncIterator[SourceItem]:
        """Yield batches and status changes until the source ends or is closed."""
        ...

    async def aclose(self) -> None:
        """Stop streaming and release devices or files."""
        ...


@dataclass(frozen=True, slots=True)
class BleOptions:
    """How ``ble://`` sources reach the radio; defaults suit a real adapter."""

    backend: BleBackend | None = None
    policy: LinkPolicy | None = None
    #: Host clock of the sensors (default: the process's shared BLE host clock).
    clock: HostClock | None = None


@dataclass(frozen=True, slots=True)
class SourceURL:
    """A parsed source URL: scheme, target (address, name or file) and query parameters."""

    text: str
    scheme: str
    target: str
    params: dict[str, str]

    def error(self, message: str) -> SourceURLError:
        """A :class:`SourceURLError` naming this URL."""
        return SourceURLError(f"{self.text}: {message}")


def parse_source_url(url: str) -> SourceURL:
    """Split ``url`` and check its scheme and parameter names (values are checked later)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if "://" not in url or scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise SourceURLError(f"{url}: unknown source; use one of {known}")
    params: dict[str, str] = {}
    for name, values in parse_qs(parts.query, keep_blank_values=True).items():
        if name not in _ALLOWED_PARAMS[scheme]:
            allowed = ", ".join(sorted(_ALLOWED_PARAMS[scheme]))
            raise SourceURLError(f"{url}: unknown parameter {name!r} (allowed: {allowed})")
        if len(values) > 1:
            raise SourceURLError(f"{url}: parameter {name!r} given twice")
        params[name] = values[0]
    return SourceURL(url, scheme, unquote(parts.netloc + parts.path), params)


def open_source(url: str, ble: BleOptions | None = None) -> Source:
    """The source a URL names; raises :class:`SourceURLError` for a URL it cannot use."""
    parsed = parse_source_url(url)
    opener = _OPENERS[parsed.scheme]
    return opener(parsed, ble or BleOptions())


def open_sources(urls: Sequence[str], ble: BleOptions | None = None) -> Source:
    """One source streaming every URL together; refused when its roles measure nothing."""
    if not urls:
        raise SourceURLError("no source given")
    if len(urls) == 1:
        source = open_source(urls[0], ble)
    else:
        source = combine_sources([open_source(url, ble) for url in urls])
    problem = roles_problem(source.roles)
    if problem is not None:
        raise SourceURLError(f"{' '.join(urls)}: {problem}")
    return source


def combine_sources(sources: Sequence[Source]) -> Source:
    """Sources streamed together as one (their roles must differ)."""
    if len(sources) == 1:
        return sources[0]
    return CombinedSource(sources)


def _speed(url: SourceURL) -> float | None:
    """The ``speed`` parameter: a positive factor, or ``max`` (``None``); default 1."""
    text = url.params.get("speed", "1")
    if text.lower() == "max":
        return None
    return _positive_number(url, "speed", text)


def _positive_number(url: SourceURL, name: str, text: str) -> float:
    """A parameter that must be a positive finite number."""
    try:
        value = float(text)
    except ValueError:
        raise url.error(f"{name} must be a number, not {text!r}") from None
    if not 0 < value < float("inf"):
        raise url.error(f"{name} must be positive, not {text!r}")
    return value


def _open_replay(url: SourceURL, _ble: BleOptions) -> Source:
    """``replay://<file>?speed=``."""
    from sensor.recording.replay import ReplaySource

    if not url.target:
        raise url.error("no recording file given (replay://path/to/file.csv)")
    if not Path(url.target).is_file():
        raise url.error(f"no such recording file: {url.target}")
    return ReplaySource(url.target, _speed(url))


def _open_sim(url: SourceURL, _ble: BleOptions) -> Source:
    """``sim://?seed=&mode=&speed=``."""
    from sensor.simsource import MODES, SimSource, session_spec

    if url.target:
        raise url.error("a simulated session has no target: use sim://?seed=N")
    seed_text = url.params.get("seed", "0")
    if not seed_text.isdigit():
        raise url.error(f"seed must be a non-negative integer, not {seed_text!r}")
    mode_text = url.params.get("mode")
    mode = next((m for m in MODES if m == mode_text), None)
    if mode_text is not None and mode is None:
        raise url.error(f"mode must be dual or single, not {mode_text!r}")
    spec = session_spec(int(seed_text), mode)
    return SimSource(spec, _speed(url))


def _open_ble(url: SourceURL, ble: BleOptions) -> Source:
    """``ble://<address-or-name>?profile=&role=&rate=``."""
    from sensor.ble import BleSource, SensorSpec
    from sensor.profiles import PROFILES

    if not url.target:
        raise url.error("no device given: ble://<address-or-name>?profile=<p>")
    profile_name = url.params.get("profile")
    if profile_name is None or profile_name.lower() not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        hint = "no profile" if profile_name is None else f"unknown profile {profile_name!r}"
        raise url.error(f"{hint}: add profile=<{known}> (backspotter scan shows it)")
    role = url.params.get("role", DEFAULT_ROLE)
    if role not in ROLES:
        raise url.error(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    rate = url.params.get("rate")
    rate_hz = None if rate is None else _positive_number(url, "rate", rate)
    spec = SensorSpec(url.target, PROFILES[profile_name.lower()], role, rate_hz)
    return BleSource(spec, backend=ble.backend, policy=ble.policy, clock=ble.clock)


_OPENERS: dict[str, Callable[[SourceURL, BleOptions], Source]] = {
    "ble": _open_ble,
    "replay": _open_replay,
    "sim": _open_sim,
}

_END = object()


class CombinedSource:
    """Several sources streamed as one; items pass on as each source delivers them."""

    def __init__(self, sources: Sequence[Source]) -> None:
        roles = [role for source in sources for role in source.roles]
        repeated = sorted({role for role in roles if roles.count(role) > 1})
        if repeated:
            raise SourceURLError(f"two sources stream the same role: {', '.join(repeated)}")
        self.sources = tuple(sources)
        self._roles = tuple(roles)

    @property
    def roles(self) -> tuple[str, ...]:
        """Every source's roles, in order."""
        return self._roles

    @property
    def dropped_samples(self) -> int:
        """Every source's impossible samples."""
        return sum(source.dropped_samples for source in self.sources)

    @property
    def truncated(self) -> bool:
        """True when any source's input was cut short."""
        return any(source.truncated for source in self.sources)

    async def stream(self) -> AsyncIterator[SourceItem]:
        """Items of all sources as they come; the first failure ends the stream."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=64)
        pumps = [asyncio.create_task(_pump(source, queue)) for source in self.sources]
        try:
            running = len(pumps)
            while running:
                item = await queue.get()
                if item is _END:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item  # type: ignore[misc]
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def aclose(self) -> None:
        """Close every source."""
        for source in self.sources:
            await source.aclose()


async def _pump(source: Source, queue: asyncio.Queue[object]) -> None:
    """Move one source's items, then an end mark (or its failure), to ``queue``."""
    try:
        async for item in source.stream():
            await queue.put(item)
        await queue.put(_END)
    except Exception as exc:  # handed to the combined stream, which raises it
        await queue.put(exc)
