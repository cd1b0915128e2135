"""What an edited export carries of a dataset's annotations: boxes moved as the crop, resize and rotation
move the image, and boxes, anomaly ranges and time segments renumbered through the trim and removed
frames (annograph JSON's neutral form, domain/objects/transfer/formats/model.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from domain.edits import EpisodeEdits, kept_frames, output_size, renumber, transform_box
from domain.objects.transfer.formats.model import AnnotationSet, BoxEntry, ImageEntry, image_file_name
from persistence.tables import EpisodeRow


def carry_annotations(
    data: AnnotationSet, plan: list[tuple[EpisodeRow, EpisodeEdits]]
) -> tuple[AnnotationSet, dict]:
    """Renumber frames and move boxes, anomaly ranges and time segments as the edits do; what could
    not be carried (on removed frames, outside the edited image) is counted."""
    new_index = {e.index: i for i, (e, _) in enumerate(plan)}
    edits_of = {e.index: ed for e, ed in plan}
    maps = {e.index: renumber(kept_frames(ed, e.length), e.length) for e, ed in plan}
    images = {im.file_name: im for im in data.images}
    dropped: Counter = Counter()
    out_images: dict[str, ImageEntry] = {}
    boxes: list[BoxEntry] = []
    for box in data.boxes:
        image = images[box.file_name]
        frame = int(maps[image.episode_index][image.frame])
        if frame < 0:
            dropped["on removed frames"] += 1
            continue
        camera_edit = edits_of[image.episode_index].cameras.get(image.camera)
        size = (image.height, image.width)
        moved = (box.x, box.y, box.width, box.height)
        if camera_edit is not None:
            transformed = transform_box(*moved, camera_edit, size)
            if transformed is None:
                dropped["outside the edited image"] += 1
                continue
            moved = transformed
            size = output_size(camera_edit, size)
        index = new_index[image.episode_index]
        file_name = image_file_name(index, image.camera, frame)
        out_images.setdefault(file_name, ImageEntry(file_name, index, image.camera, frame, size[1], size[0]))
        boxes.append(
            replace(box, file_name=file_name, x=moved[0], y=moved[1], width=moved[2], height=moved[3])
        )
    annotations = []
    for entry in data.episode_annotations:
        mapping = maps[entry["episode_index"]]
        content = dict(entry["content"] or {})
        anomalies = []
        for anomaly in content.get("anomalies") or []:
            kept = [
                int(mapping[f])
                for f in range(anomaly["from_frame"], anomaly["to_frame"] + 1)
                if mapping[f] >= 0
            ]
            if not kept:
                dropped["anomalies on removed frames"] += 1
                continue
            anomalies.append({**anomaly, "from_frame": kept[0], "to_frame": kept[-1]})
        content["anomalies"] = anomalies
        annotations.append({**entry, "episode_index": new_index[entry["episode_index"]], "content": content})
    segments = []
    for segment in data.segments:
        mapping = maps[segment["episodeIndex"]]
        first, last = segment["fromFrame"], segment["toFrame"]
        kept_source = [f for f in range(first, last + 1) if mapping[f] >= 0]
        if not kept_source:
            dropped["segments on removed frames"] += 1
            continue

        def seconds(frame: int, segment: dict = segment, first: int = first, last: int = last) -> float:
            # The export keeps each kept frame's timestamp; a boundary frame that was removed moves to
            # the next kept one, timed by interpolating the segment's own start and end.
            if last == first:
                return float(segment["fromTime"])
            start, end = float(segment["fromTime"]), float(segment["toTime"])
            return start + (frame - first) / (last - first) * (end - start)

        segments.append(
            {
                **segment,
                "episodeIndex": new_index[segment["episodeIndex"]],
                "fromFrame": int(mapping[kept_source[0]]),
                "toFrame": int(mapping[kept_source[-1]]),
                "fromTime": seconds(kept_source[0]),
                "toTime": seconds(kept_source[-1]),
            }
        )
    carried = replace(
        data,
        images=list(out_images.values()),
        boxes=boxes,
        episode_annotations=annotations,
        segments=segments,
    )
    return carried, dict(dropped)
