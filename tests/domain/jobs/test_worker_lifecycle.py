"""How an `annograph worker` process ends (real workers on PostgreSQL): SIGTERM lets a running job
finish within settings.worker_grace, and hands back one that does not (PENDING again, never
CANCELLED: another worker runs it from the start); kill -9 leaves no process of its pool behind."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

from domain.accounts.users import Role, Viewer, create_user
from domain.analysis.kinds import AnalysisKind
from domain.analysis.runs import run_analysis
from domain.datasets.demo import write_demo_dataset
from tests.conftest import register
from tests.domain.jobs.queue_support import HANG, SPEC, gate_job, read, until

STOPPING = "Waiting for job to finish"  # procrastinate's log line once its grace begins


async def exited(process: subprocess.Popen) -> int:
    """The process's exit code, once it exited."""
    return await asyncio.to_thread(process.wait, HANG)


async def logged(path: Path, line: str) -> None:
    """Returns once the worker's log `path` holds `line`."""
    async with asyncio.timeout(HANG):
        while line not in path.read_text(errors="replace"):
            await asyncio.sleep(0.05)


def children(pid: int) -> dict[int, str]:
    """The live child processes of `pid`: their id -> start time (/proc/<id>/stat field 22, in clock
    ticks since boot), which tells a process from a later one given the same id."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) may hold spaces and parentheses: fields count after its ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(stat.parent.name)] = fields[19]
    return found


def alive(pid: int, started: str) -> bool:
    """Whether process `pid` started at `started` still runs (a zombie has ended: only its parent's
    wait is missing, and an orphan's new parent may never reap it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == started and fields[0] != "Z"


async def test_a_stopped_worker_hands_a_job_past_its_grace_back_and_another_worker_runs_it(
    server, workers, tmp_path
):
    workers.env["ANNOGRAPH_WORKER_GRACE"] = "0.2"
    first = workers.start()
    gate = tmp_path / "gate"  # stays closed past the grace
    job = await gate_job(server, gate)
    await until(server, job.id, "RUNNING")
    first.send_signal(signal.SIGTERM)
    assert await exited(first) == 0
    back = await read(server, job.id)
    assert (back.status, back.error_code, back.finished_at) == ("PENDING", None, None)
    assert back.message is not None and back.message.startswith("handed back: worker ")
    assert back.message.endswith(f":{first.pid} stopped")
    entry = (await server.jobs.queue.find([job.id]))[job.id]
    assert entry.status == "todo"  # waiting for the next worker

    second = workers.start()
    again = await until(server, job.id, "RUNNING", "COMPLETED", "FAILED", "CANCELLED")
    assert again.status == "RUNNING" and again.started_at is not None
    gate.touch()
    done = await until(server, job.id, "COMPLETED", "FAILED", "CANCELLED")
    assert (done.status, done.error_code) == ("COMPLETED", None), done.error_message
    assert done.summary is not None and done.summary.model_dump()["pid"] == second.pid


async def test_a_stopped_worker_lets_a_job_finish_within_its_grace_and_takes_no_other(
    server, workers, tmp_path
):
    workers.env["ANNOGRAPH_WORKER_GRACE"] = str(HANG)
    worker = workers.start()
    gate = tmp_path / "gate"
    job = await gate_job(server, gate)
    await until(server, job.id, "RUNNING")
    worker.send_signal(signal.SIGTERM)
    await logged(tmp_path / "worker-0.log", STOPPING)  # the worker stopped taking jobs
    later = tmp_path / "open"
    later.touch()
    waiting = await gate_job(server, later, target="other")  # would end at once, if it were taken
    gate.touch()
    assert await exited(worker) == 0
    done = await read(server, job.id)
    assert (done.status, done.error_code) == ("COMPLETED", None), done.error_message
    assert done.summary is not None and done.summary.model_dump()["pid"] == worker.pid
    assert (await read(server, waiting.id)).status == "PENDING"
    assert (await server.jobs.queue.find([waiting.id]))[waiting.id].status == "todo"


async def test_a_killed_worker_leaves_no_process_of_its_pool(server, workers, data_root):
    worker = workers.start()
    write_demo_dataset(data_root / "demo", SPEC)
    dataset_id = await register(server, data_root / "demo")  # indexed by the worker
    user = await create_user(server, "ana", Role.ADMIN)
    viewer = Viewer(user.id, user.name, Role.ADMIN)
    job = await run_analysis(server, viewer, dataset_id, AnalysisKind.TRAJECTORY_METRICS, {}, None)
    done = await until(server, job.id, "COMPLETED", "FAILED", "CANCELLED")
    assert done.status == "COMPLETED", done.error_message  # its episodes ran in the worker's pool

    pool = children(worker.pid)  # idle pool processes (and multiprocessing's resource tracker)
    spawned = [
        pid
        for pid in pool
        if "multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    ]
    assert spawned, pool
    worker.kill()  # kill -9: nothing in the worker runs any more
    worker.wait()
    async with asyncio.timeout(HANG):
        while survivors := [pid for pid, started in pool.items() if alive(pid, started)]:
            await asyncio.sleep(0.05)
    assert not survivors
