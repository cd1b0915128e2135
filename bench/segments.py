"""Segment consensus for 1,000 episodes x 5 annotators x 10 segments: time per episode.

Three figures, one run:
- domain: domain.segments.consensus.segment_consensus on each episode's marks (in memory), against a
  reference: the same matching written plainly over numpy arrays (the IoU matrix of each label's
  segments, pairs at or above min IoU highest first, complete-linkage groups of one segment per
  annotator, median boundaries and their max - min spread). Both must give the same groups and medians.
- stored: episode.segmentConsensus's loader (domain.segments.service.consensus_by_keys) over the same
  segments stored in a scratch SQLite database, in pages of 100 episodes as a GraphQL page asks for them:
  one statement per page plus the matching.

    .venv/bin/python -m bench.segments [--episodes 1000] [--annotators 5] [--segments 10]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from domain.segments.consensus import SegmentMark, segment_consensus

MIN_IOU = 0.5
FRAMES_PER_SEGMENT = 30
FPS = 30.0
PAGE = 100


def make_marks(episodes: int, annotators: int, segments: int, seed: int = 19) -> list[list[SegmentMark]]:
    """Each annotator splits an episode of segments x 30 frames into the same subtasks (labels 0..n-1),
    boundaries jittered by up to 6 frames; one mark in ten takes a wrong label, as real annotators do."""
    rng = np.random.default_rng(seed)
    out: list[list[SegmentMark]] = []
    next_id = 1
    for _ in range(episodes):
        marks = []
        for annotator in range(annotators):
            bounds = np.arange(segments + 1) * FRAMES_PER_SEGMENT
            bounds[1:-1] += rng.integers(-6, 7, size=segments - 1)
            for k in range(segments):
                label = int(rng.integers(0, segments)) if rng.random() < 0.1 else k
                first, last = int(bounds[k]), int(bounds[k + 1]) - 1
                marks.append(
                    SegmentMark(next_id, annotator + 1, label + 1, first, last, first / FPS, last / FPS)
                )
                next_id += 1
        out.append(marks)
    return out


def reference(marks: list[SegmentMark], min_iou: float) -> list[tuple[int, tuple[int, ...], float, float]]:
    """(label, sorted segment ids, median first frame, median last frame) of each agreed group."""
    ids = np.array([m.segment_id for m in marks])
    who = np.array([m.annotator_id for m in marks])
    labels = np.array([m.label_id for m in marks])
    starts = np.array([m.from_frame for m in marks])
    ends = np.array([m.to_frame for m in marks])
    found = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        idx = idx[np.lexsort((ids[idx], ends[idx], starts[idx]))]
        s, e, a = starts[idx], ends[idx], who[idx]
        inter = np.clip(np.minimum(e[:, None], e) - np.maximum(s[:, None], s) + 1, 0, None)
        iou = inter / ((e - s + 1)[:, None] + (e - s + 1) - inter)
        ok = np.triu((iou >= min_iou) & (a[:, None] != a), 1)
        rows, cols = np.nonzero(ok)
        group = np.arange(len(idx))
        for k in np.argsort(-iou[rows, cols], kind="stable"):
            g, h = group[rows[k]], group[cols[k]]
            if g == h:
                continue
            left, right = np.flatnonzero(group == g), np.flatnonzero(group == h)
            if np.intersect1d(a[left], a[right]).size or iou[np.ix_(left, right)].min() < min_iou:
                continue
            group[right] = g
        for g in np.unique(group):
            members = np.flatnonzero(group == g)
            if members.size >= 2:
                found.append(
                    (
                        int(label),
                        tuple(sorted(ids[idx[members]].tolist())),
                        float(np.median(s[members])),
                        float(np.median(e[members])),
                    )
                )
    return sorted(found)


def ours(marks: list[SegmentMark], min_iou: float) -> list[tuple[int, tuple[int, ...], float, float]]:
    result = segment_consensus(marks, min_iou)
    return sorted(
        (s.label_id, tuple(sorted(s.segment_ids)), s.from_frame, s.to_frame) for s in result.segments
    )


def per_episode(fn, episodes: list[list[SegmentMark]], repeat: int = 3) -> float:
    """Median over `repeat` passes of the seconds per episode of `fn` over every episode."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for marks in episodes:
            fn(marks, MIN_IOU)
        samples.append((time.perf_counter() - start) / len(episodes))
    return sorted(samples)[len(samples) // 2]


async def stored(episodes: list[list[SegmentMark]], annotators: int, segments: int) -> float:
    """Seconds per episode of consensus_by_keys in pages of PAGE episodes, on a scratch SQLite database."""
    from sqlalchemy import insert

    from domain.accounts.users import Role, create_user
    from domain.core.runtime import Runtime
    from domain.segments.service import consensus_by_keys
    from persistence.columns import utcnow
    from persistence.migrate import upgrade
    from persistence.repositories import dataset as datasets_repo
    from persistence.repositories import episode as episodes_repo
    from persistence.settings import load_settings
    from persistence.tables import EpisodeSegmentRow, SegmentLabelRow

    with tempfile.TemporaryDirectory(prefix="annograph-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'segments.db'}"
        await asyncio.to_thread(upgrade, url)
        rt = Runtime.build(load_settings(var_dir=Path(tmp), database_url=url, data_roots=[Path(tmp)]))
        await rt.start()
        try:
            now = utcnow()
            users = [await create_user(rt, f"a{a}", Role.ANNOTATOR) for a in range(annotators)]
            async with rt.sessions() as session, session.begin():
                dataset = await datasets_repo.upsert_dataset(
                    session,
                    tmp,
                    name="bench",
                    format="HDF5",
                    fps=FPS,
                    cameras=[],
                    joint_names=[],
                    features={},
                    episode_count=len(episodes),
                    frame_count=0,
                )
                await episodes_repo.replace_episodes(
                    session,
                    dataset.id,
                    [
                        dict(
                            index=i,
                            file=f"e{i}",
                            length=segments * FRAMES_PER_SEGMENT,
                            duration=10.0,
                            task_index=None,
                            cameras={},
                            missing=[],
                            file_size=1,
                            file_mtime=0.0,
                        )
                        for i in range(len(episodes))
                    ],
                )
                rows = await episodes_repo.read_episodes_by_indexes(
                    session, [(dataset.id, i) for i in range(len(episodes))]
                )
                episode_ids = {r.index: r.id for r in rows}
                await session.execute(
                    insert(SegmentLabelRow),
                    [
                        {
                            "id": k + 1,
                            "dataset_id": dataset.id,
                            "name": f"s{k}",
                            "color": "#ffffff",
                            "created_at": now,
                        }
                        for k in range(segments)
                    ],
                )
                await session.execute(
                    insert(EpisodeSegmentRow),
                    [
                        {
                            "id": m.segment_id,
                            "episode_id": episode_ids[i],
                            "annotator_id": users[m.annotator_id - 1].id,
                            "label_id": m.label_id,
                            "from_frame": m.from_frame,
                            "to_frame": m.to_frame,
                            "from_time": m.from_time,
                            "to_time": m.to_time,
                            "version": 1,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i, marks in enumerate(episodes)
                        for m in marks
                    ],
                )
            samples = []
            for _ in range(3):
                start = time.perf_counter()
                for page in range(0, len(episodes), PAGE):
                    keys = [(episode_ids[e], MIN_IOU) for e in range(page, min(page + PAGE, len(episodes)))]
                    await consensus_by_keys(rt, keys)
                samples.append((time.perf_counter() - start) / len(episodes))
            return sorted(samples)[1]
        finally:
            await rt.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--annotators", type=int, default=5)
    parser.add_argument("--segments", type=int, default=10)
    args = parser.parse_args()
    episodes = make_marks(args.episodes, args.annotators, args.segments)
    mismatched = sum(ours(m, MIN_IOU) != reference(m, MIN_IOU) for m in episodes)
    assert mismatched == 0, f"{mismatched} episodes differ from the reference"
    agreed = sum(len(ours(m, MIN_IOU)) for m in episodes)
    ref = per_episode(reference, episodes)
    domain = per_episode(lambda m, iou: segment_consensus(m, iou), episodes)
    db = asyncio.run(stored(episodes, args.annotators, args.segments))
    print(
        f"segment consensus: {args.episodes} episodes x {args.annotators} annotators x "
        f"{args.segments} segments (min IoU {MIN_IOU}; {agreed} agreed segments, "
        "the same groups and medians as the reference)"
    )
    print(f"  reference (numpy, same matching)  {ref * 1e3:8.3f} ms/episode")
    print(
        f"  domain segment_consensus          {domain * 1e3:8.3f} ms/episode   {domain / ref:5.2f}x reference"
    )
    print(
        f"  stored (loader, pages of {PAGE}, SQLite) {db * 1e3:6.3f} ms/episode   {db / ref:5.2f}x reference"
    )


if __name__ == "__main__":
    main()
