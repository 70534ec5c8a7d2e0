"""Durable background jobs, run by whichever server process sharing the database claims them.

A job is a row of one table (``stack_jobs``); its kind's *runner* (see ``JobService.register``)
runs it. Claiming is a compare-and-set UPDATE (on status and lease, rowcount checked), so a job runs
in at most one process at a time, held by a *lease* its process renews while it runs (on every
progress report and from the poll loop). A process that stops cleanly hands its leases back, so
the next one resumes at once; one that dies, even by ``kill -9``, lets them lapse, and any process's
poll loop claims the job again and re-runs it from the start: runners must be idempotent. Finishing
is conditional on still holding the job, so a job finishes exactly once::

    queued ──claimed──▶ running ──runner returns──▶ succeeded
      │                   │ ╰────runner raises───▶ failed (error: code + message)
      │                   ├─cancel seen─────────▶ cancelled
      │                   ╰─lease lapsed or handed back──▶ claimed again (attempts + 1)
      ╰──cancel──────────────────────────────────▶ cancelled

A runner sees every reason to stop as ``asyncio.CancelledError`` (raised into it when this process
cancels or stops it, or by ``JobHandle.progress`` when a cancel came from another process or the
job was taken over); ``JobHandle.stop_reason`` says which. It runs as the job's owner.

Access: each job records its owner (the current user at ``submit``). ``get``, ``list`` and
``cancel`` apply the stack's ``AccessPolicy`` to the job (resource ``job::<id>``) as
``OwnedObjects`` does: a job the user may not read is not found (404); cancelling needs ``update``,
and a reader who lacks it is refused (403).
"""

from .model import Job, JobStatus, StopReason, new_job_id
from .service import JobHandle, JobService, Runner

__all__ = ["Job", "JobHandle", "JobService", "JobStatus", "Runner", "StopReason", "new_job_id"]
