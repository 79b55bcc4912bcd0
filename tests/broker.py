"""A real mosquitto on a free loopback port, for tests and benchmarks (never a mock).

The implementation lives in ``simulator.mosquitto`` so that ``wachter sim run`` can start the
same broker; this module keeps the names the tests import.
"""

from __future__ import annotations

from simulator.mosquitto import Mosquitto, free_port, mosquitto_binary, running_mosquitto

__all__ = ["Mosquitto", "free_port", "mosquitto_binary", "running_mosquitto"]
