"""`HttpProvider`: the Provider protocol over the console API."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast
from urllib.parse import parse_qs, quote, urlsplit

from reconciler import wire
from reconciler.errors import ProviderError
from reconciler.model import Action, Change, Console, Operation
from reconciler.providers.base import Capabilities
from reconciler.providers.http.transport import RetryPolicy, Stopped, Transport
from reconciler.threads import start_daemon
from reconciler.wire import JsonObject, WireError

T = TypeVar("T")

PAGE_SIZE = wire.MAX_LIMIT
#: how many times observe() reads again when the console changed between two of its requests
OBSERVE_ATTEMPTS = 5
REMOTE_WRITES = Capabilities(writes=True, remote=True)


class HttpProvider:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        verify: ssl.SSLContext | bool = True,
        retry: RetryPolicy | None = None,
        trust_env: bool = True,
    ) -> None:
        self._url = base_url
        self._transport = Transport(
            base_url, token, verify=verify, retry=retry or RetryPolicy(), trust_env=trust_env
        )

    @property
    def description(self) -> str:
        return self._url

    @property
    def capabilities(self) -> Capabilities:
        return REMOTE_WRITES

    def __repr__(self) -> str:
        return f"HttpProvider({self._url!r})"

    def close(self) -> None:
        # Readers still blocked on a slow console are daemon threads told to stop: nobody waits for them.
        self._transport.close()

    def console_id(self) -> str | None:
        """What `/v1/me` says the console is, when it says."""
        body = self._transport.request("GET", "/v1/me", own_path=True)
        meta = body.get("meta") if isinstance(body, dict) else None
        stated = meta.get("console") if isinstance(meta, dict) else None
        return stated if isinstance(stated, str) else None

    # --- the Provider protocol ---------------------------------------------------------------------

    def observe(self) -> Console:
        """Every collection read concurrently; the versions the console answers prove one consistent state."""
        for _ in range(OBSERVE_ATTEMPTS):
            me_body, collections = self._read_everything()
            versions = {self._version_of(me_body, "/v1/me")}
            for _items, seen in collections.values():
                versions |= seen
            if len(versions) == 1:
                items = {name: value[0] for name, value in collections.items()}
                try:
                    return wire.decode_console(me_body, items)
                except WireError as exc:
                    raise self._malformed(exc) from None
        raise ProviderError(
            f"the console at {self._url} kept changing while it was being read",
            code="unavailable",
            transient=True,
            hint="something else is writing to the console; try again when it is done",
        )

    def execute(self, change: Change, idempotency_key: str) -> Operation:
        path, body = _write_request(change)
        return self._operation(
            self._transport.request("POST", path, body=body, idempotency_key=idempotency_key)
        )

    def operation(self, operation_id: str) -> Operation:
        return self._operation(
            self._transport.request("GET", f"/v1/operations/{quote(operation_id, safe='')}")
        )

    # --- reading -----------------------------------------------------------------------------------

    def _read_everything(self) -> tuple[Any, dict[str, tuple[list[JsonObject], set[str]]]]:
        """`/v1/me` and every collection, concurrently. When one read fails the reads after it (in
        reading order) stop retrying, and all have returned before the failure is raised: nothing
        is left running. The reads before it go on, so that the error raised is the first in
        reading order whichever thread met its own first: the same console gives the same error on
        every run (a wrong API: the one for /v1/me), however the threads were scheduled."""
        ended = threading.Event()
        stops = [threading.Event() for _ in range(1 + len(wire.COLLECTIONS))]
        me = _Background(
            lambda: self._transport.request("GET", "/v1/me", stop=stops[0], own_path=True), ended
        )
        pages = {
            name: _Background(self._reader(name, stop), ended)
            for name, stop in zip(wire.COLLECTIONS, stops[1:], strict=True)
        }
        everything = [me, *pages.values()]
        try:
            _wait_interruptibly(everything, ended, until_a_failure=True)
            failed = next((i for i, read in enumerate(everything) if read.error is not None), None)
            if failed is not None:
                for stop in stops[failed + 1 :]:
                    stop.set()
                _wait_interruptibly(everything, ended, until_a_failure=False)
        except BaseException:
            for stop in stops:  # Ctrl-C or SIGTERM: the readers give up at their next step
                stop.set()
            raise
        errors = [read.error for read in everything if read.error is not None]
        if errors:
            raise next((e for e in errors if not isinstance(e, Stopped)), errors[0])
        return me.result(), {name: read.result() for name, read in pages.items()}

    def _reader(self, name: str, stop: threading.Event) -> Callable[[], tuple[list[JsonObject], set[str]]]:
        return lambda: self._read_collection(name, stop)

    def _read_collection(self, name: str, stop: threading.Event) -> tuple[list[JsonObject], set[str]]:
        items: list[JsonObject] = []
        versions: set[str] = set()
        params: dict[str, str | int] = {"limit": PAGE_SIZE}
        seen_cursors: set[str] = set()
        while True:
            body = self._transport.request("GET", f"/v1/{name}", params=params, stop=stop, own_path=True)
            versions.add(self._version_of(body, name))
            try:
                items.extend(body["data"])
                next_link = body["links"]["next"]
            except (KeyError, TypeError) as exc:
                raise self._malformed(WireError(f"a page of {name} is malformed ({exc!r})")) from None
            if next_link is None:
                return items, versions
            cursor = _cursor_of(str(next_link))
            if cursor is None or cursor in seen_cursors:
                raise self._malformed(WireError(f"the pages of {name} do not lead to an end"))
            seen_cursors.add(cursor)
            params = {"limit": PAGE_SIZE, "cursor": cursor}

    def _version_of(self, body: Any, what: str) -> str:
        try:
            return str(body["meta"]["version"])
        except (KeyError, TypeError):
            raise self._malformed(WireError(f"{what} has no meta.version")) from None

    def _operation(self, body: Any) -> Operation:
        try:
            return wire.decode_operation(body)
        except WireError as exc:
            raise self._malformed(exc) from None

    def _malformed(self, error: WireError) -> ProviderError:
        return self._transport.malformed(error)


class _Background(Generic[T]):
    """`work` on a daemon thread: one stuck on a slow console never keeps the process alive after
    a signal (a pool's threads are joined at exit, for as long as their reads take). `ended` is
    set when it ends, as it is by every read that shares it. (Not concurrent.futures: importing
    it, and the logging it imports, costs every command over HTTP about 5 ms.)"""

    def __init__(self, work: Callable[[], T], ended: threading.Event) -> None:
        self._value: T | None = None
        self.error: BaseException | None = None
        self.done = False
        start_daemon(self._run, work, ended)

    def _run(self, work: Callable[[], T], ended: threading.Event) -> None:
        try:
            self._value = work()
        except BaseException as error:
            self.error = error
        finally:
            self.done = True
            ended.set()

    def result(self) -> T:
        """What the work returned (call once it is done), or what it raised, raised."""
        if self.error is not None:
            raise self.error
        return cast(T, self._value)


def _wait_interruptibly(
    reads: list[_Background[Any]], ended: threading.Event, *, until_a_failure: bool
) -> None:
    """Wait until all are done, or (`until_a_failure`) one failed, in short steps so that a signal
    is handled at once. `ended` is cleared before each look: an end after the look is not missed."""
    while True:
        ended.clear()
        if all(read.done for read in reads):
            return
        if until_a_failure and any(read.error is not None for read in reads):
            return
        ended.wait(0.1)


def _write_request(change: Change) -> tuple[str, JsonObject]:
    def sub() -> str:
        return quote(_required(change.subscription, change, "subscription"), safe="")

    if change.action == Action.CREATE_SITE:
        return "/v1/sites", {
            "org": _required(change.org, change, "org"),
            "name": _required(change.site, change, "site"),
        }
    if change.action == Action.PROVISION:
        app = quote(_required(change.app, change, "app"), safe="")
        return f"/v1/subscriptions/{sub()}/apps/{app}/provision", {
            "site": _required(change.site, change, "site")
        }
    if change.action == Action.CANCEL:
        return f"/v1/subscriptions/{sub()}/cancel", {}
    return f"/v1/subscriptions/{sub()}/reactivate", {}


def _required(value: str | None, change: Change, name: str) -> str:
    if value is None:
        raise ProviderError(f"change {change.id} has no {name}", code="invalid-request")
    return value


def _cursor_of(link: str) -> str | None:
    values = parse_qs(urlsplit(link).query).get("cursor")
    return values[-1] if values else None
