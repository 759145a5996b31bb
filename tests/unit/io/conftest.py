"""Run the same test under the blocking and the asyncio driver."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest

from mailwire._flow import Flow
from mailwire._io.aio import AsyncDriver
from mailwire._io.blocking import BlockingDriver
from tests.support.tls import PKI, make_pki

T = TypeVar("T")


class SyncFacade:
    """The async driver behind blocking calls, on one event loop."""

    def __init__(self, runner: asyncio.Runner, driver: AsyncDriver) -> None:
        self._runner = runner
        self.driver = driver
        self.transcript = driver.transcript
        self.stream = driver.stream

    def connect(self) -> None:
        self._runner.run(self.driver.connect())

    def run(self, flow: Flow[T], *, timeout: float | None = None) -> T:
        return self._runner.run(self.driver.run(flow, timeout=timeout))

    def close(self) -> None:
        self._runner.run(self.driver.close())

    @property
    def is_open(self) -> bool:
        return self.driver.is_open


@pytest.fixture(params=["blocking", "asyncio"])
def make_driver(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: list[Any] = []
    runner = asyncio.Runner() if request.param == "asyncio" else None

    def make(host: str, port: int, **kwargs: Any) -> Any:
        if runner is None:
            driver: Any = BlockingDriver(host, port, **kwargs)
        else:
            driver = SyncFacade(runner, AsyncDriver(host, port, **kwargs))
        made.append(driver)
        return driver

    make.kind = request.param  # type: ignore[attr-defined]
    yield make
    for driver in made:
        driver.close()
    if runner is not None:
        runner.close()


@pytest.fixture(scope="session")
def pki() -> PKI:
    return make_pki()
