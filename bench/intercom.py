"""Intercom analysis cost per 640x480 frame on one core: motion only, motion + detection.

Run: .venv/bin/python bench/intercom.py [--frames 300]   (pins OpenCV to one thread itself)
Frames come from the synthetic street with one figure walking across, generated on the fly
(not held in memory) so the RSS printed is the driver's own working set.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import cv2
import deadline  # bench/deadline.py: this directory is on sys.path

from drivers.intercom.analysis import Analyser
from drivers.intercom.motion import small_grey
from drivers.intercom.source import Frame
from drivers.intercom.synthetic import SyntheticCapture


def frames(n: int) -> Iterator[Frame]:
    cap = SyntheticCapture("street")
    cap.period = n / cap.fps  # the walker crosses once during the run
    t0 = datetime.now(UTC)
    for i in range(n):
        _, image = cap.read()
        yield Frame(image, i / cap.fps, t0 + timedelta(seconds=i / cap.fps))


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kb / 1024


def report(label: str, times: list[float]) -> None:
    median, mean = statistics.median(times), statistics.fmean(times)
    print(
        f"{label:>24}: median {median:6.2f} ms, mean {mean:6.2f} ms, "
        f"p95 {statistics.quantiles(times, n=20)[-1]:6.2f} ms -> {1000 / mean:7.1f} fps (mean)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    deadline.start(120 + args.frames)  # far more than the 1 s a frame the slowest Pi needs
    cv2.setNumThreads(1)
    for label, detect in (("motion only", False), ("motion + detection", True)):
        analyser, times = Analyser("bench"), []
        for frame in frames(args.frames):
            start = time.perf_counter()
            analyser.process(frame, detect=detect)
            times.append((time.perf_counter() - start) * 1000)
        report(label, times)
        if detect:
            print(f"{'':>24}  (detector ran on {analyser.detect_runs} of {args.frames} frames)")
    analyser, det = Analyser("bench"), []
    for frame in frames(args.frames):
        boxes = analyser.motion.detect(small_grey(frame.image, 320), 640)
        if boxes:
            start = time.perf_counter()
            analyser.people.detect(frame.image, boxes)
            det.append((time.perf_counter() - start) * 1000)
    report("detection, motion frames", det)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'RSS':>24}: {rss_mib():.0f} MiB now, {peak:.0f} MiB peak")


if __name__ == "__main__":
    main()
