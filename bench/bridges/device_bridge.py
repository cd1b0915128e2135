"""Bridge a device on a serial line (pyserial) or a CAN bus (python-can) to ingestDetectionEvents.

Serial: one JSON object per line, {"frame": 12, "label": "pedestrian", "box": [x, y, w, h], "score": 0.9}
(optionally "sentAt", the device's ISO time). CAN FD: arbitration id 0x100 + label index, data CAN_BOX
(frame, x, y, w, h, score); the bus's receive time stamps sentAt. Without a time, the bridge's read time.

    python -m bench.bridges.device_bridge serial /dev/ttyUSB0 --url http://localhost:8000/graphql \
        --token $TOKEN --session $SESSION --episode $EPISODE
    python -m bench.bridges.device_bridge can can0 --labels pedestrian,vehicle ...   (socketcan)
"""

import argparse
import itertools
import json
import struct
from datetime import UTC, datetime

import httpx

INGEST = "mutation($s: ID!, $e: [DetectionEventInput!]!) { ingestDetectionEvents(sessionId: $s, events: $e) }"
CAN_BOX = struct.Struct("<I4Hf")  # frame, x, y, width, height (pixels), score: 16 bytes of a CAN FD frame


# fmt: off
def serial_readings(port):
    """Detections from an open pyserial port, until a read times out with nothing."""
    while line := port.readline():
        yield json.loads(line) | {"path": "SERIAL"}


def can_readings(bus, labels, idle=1.0):
    """Detections from a python-can bus, until `idle` seconds pass without a frame."""
    while (msg := bus.recv(timeout=idle)) is not None:
        frame, x, y, w, h, score = CAN_BOX.unpack(msg.data[: CAN_BOX.size])
        sent = datetime.fromtimestamp(msg.timestamp, UTC).isoformat()
        yield {"frame": frame, "label": labels[msg.arbitration_id - 0x100], "box": [x, y, w, h],
               "score": score, "sentAt": sent, "path": "CAN"}


def bridge(readings, url, token, session, episode, camera="front", batch=100):
    """Post the readings as events of `session`, `batch` at a time; the number of detections stored."""
    stored, events = 0, []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for r in itertools.chain(readings, [None]):  # None: post what is left
            if r is not None:
                x, y, w, h = r["box"]
                sent = r.get("sentAt") or datetime.now(UTC).isoformat()
                events.append({"episodeId": episode, "camera": camera, "frame": r["frame"], "x": x, "y": y,
                               "width": w, "height": h, "label": r["label"], "score": r.get("score"),
                               "sentAt": sent, "signalPath": r["path"]})
            if events and (r is None or len(events) >= batch):
                variables = {"s": session, "e": events}
                body = client.post(url, json={"query": INGEST, "variables": variables}).json()
                if "errors" in body:
                    raise RuntimeError(body["errors"][0]["message"])
                stored, events = stored + body["data"]["ingestDetectionEvents"], []
    return stored
# fmt: on


def main():
    parser = argparse.ArgumentParser(description="Post a serial or CAN device's detections to annograph.")
    parser.add_argument("kind", choices=["serial", "can"])
    parser.add_argument("device", help="serial port or pyserial URL (loop://), or CAN channel (can0)")
    parser.add_argument("--labels", default="", help="CAN: label names by index, comma separated")
    parser.add_argument("--interface", default="socketcan", help="CAN: python-can interface")
    for name in ("url", "token", "session", "episode"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--camera", default="front")
    a = parser.parse_args()
    if a.kind == "serial":
        import serial

        with serial.serial_for_url(a.device, baudrate=115200, timeout=1) as port:
            readings = serial_readings(port)
            print(bridge(readings, a.url, a.token, a.session, a.episode, a.camera), "detections stored")
    else:
        import can

        with can.Bus(interface=a.interface, channel=a.device, fd=True) as bus:
            readings = can_readings(bus, a.labels.split(","))
            print(bridge(readings, a.url, a.token, a.session, a.episode, a.camera), "detections stored")


if __name__ == "__main__":
    main()
