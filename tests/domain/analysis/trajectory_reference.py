"""A direct, loop-based transcription of the trajectory metrics of issue 6 / the guide, written apart
from the vectorised code so that the two can check each other (tests, bench/analysis.py). None for an
episode too short to measure (fewer than 4 finite samples, issue 15)."""

from __future__ import annotations

import math

import numpy as np
from scipy import signal


def reference_metrics(positions, timestamps, params) -> dict | None:
    if len(timestamps) == 0:
        return None
    rows = [
        (float(t), [float(v) for v in p])
        for t, p in zip(timestamps, np.asarray(positions).reshape(len(timestamps), -1), strict=True)
        if math.isfinite(float(t)) and all(math.isfinite(float(v)) for v in p)
    ]
    times = [t for t, _ in rows]
    points = [p for _, p in rows]
    n = len(points)
    joints = len(points[0]) if n else 0

    def norm(vector):
        return math.sqrt(sum(v * v for v in vector))

    path = 0.0
    for i in range(1, n):
        path += norm([points[i][j] - points[i - 1][j] for j in range(joints)])
    if n < 4 or joints == 0:
        return None  # too short to measure (issue 15), where the guide returns perfect values below 3
    steps = []
    for i in range(1, n):
        step = times[i] - times[i - 1]
        steps.append(step if step > 0 else 1e-6)
    velocity = [[(points[i + 1][j] - points[i][j]) / steps[i] for j in range(joints)] for i in range(n - 1)]
    acceleration = [[(velocity[i + 1][j] - velocity[i][j]) / steps[i + 1] for j in range(joints)]
                    for i in range(len(velocity) - 1)]
    jerk = [[(acceleration[i + 1][j] - acceleration[i][j]) / steps[i + 2] for j in range(joints)]
            for i in range(len(acceleration) - 1)]
    if jerk and joints:
        total = 0.0
        count = 0
        for row in jerk:
            for value in row:
                total += value * value
                count += 1
        smoothness = 1.0 / (1.0 + math.sqrt(total / count))
    else:
        smoothness = 1.0
    direct = norm([points[-1][j] - points[0][j] for j in range(joints)])
    efficiency = 1.0 if path == 0 else min(1.0, max(0.0, direct / path))

    speed = [norm(v) for v in velocity]
    inner = [times[i + 1] - times[i] for i in range(n - 2)]  # the steps of timestamps[:-1]
    mean_step = sum(inner) / len(inner)
    fs = 1.0 / (mean_step if mean_step > 0 else 1e-6)
    frequencies, psd = signal.welch(np.array(speed), fs=fs, nperseg=min(256, len(speed)))
    jitter = 0.0
    for f, p in zip(frequencies, psd, strict=True):
        if f > params.jitter_frequency_hz:
            jitter += float(p)

    hesitations = 0
    run = 0
    # The guide's loop: a run counts when a moving step closes it. The sentinel, when asked for,
    # also closes a run still going at the end.
    for s in speed + ([math.inf] if params.hesitation_at_end else []):
        if s < params.velocity_threshold:
            run += 1
        else:
            if run >= params.hesitation_min_frames:
                hesitations += 1
            run = 0

    corrections = 0
    for i in range(len(velocity) - 1):
        a = [v / (speed[i] + 1e-10) for v in velocity[i]]
        b = [v / (speed[i + 1] + 1e-10) for v in velocity[i + 1]]
        if sum(x * y for x, y in zip(a, b, strict=True)) < -0.5:
            corrections += 1

    flags = []
    if smoothness < params.smoothness_flag or jitter > params.jitter_flag:
        flags.append("jittery")
    if hesitations > params.hesitation_flag:
        flags.append("hesitation")
    if corrections > params.correction_flag:
        flags.append("correction-heavy")
    raw = (0.3 * smoothness + 0.25 * efficiency + 0.25 * (1.0 - min(jitter, 1.0))
           + 0.1 * max(0.0, 1.0 - hesitations / 10) + 0.1 * max(0.0, 1.0 - corrections / 20))
    overall = int(min(5.0, max(1.0, raw * 5 + 1e-9)))  # the same allowance for float noise
    return dict(smoothness=smoothness, efficiency=efficiency, jitter=jitter, hesitation_count=hesitations,
                correction_count=corrections, path_length=path, overall_grade=overall, flags=flags)
