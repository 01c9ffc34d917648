"""What a job script imports to talk to Robofleet from inside a job.

    from robofleet import sdk

    month = sdk.parameter("month", "2026-01")
    sdk.log("Info", "starting", month=month)
    posted = 0
    for invoice in invoices:
        if sdk.should_stop():  # a soft stop was requested: end cleanly
            break
        post(invoice)
        posted += 1
        sdk.set_progress(100 * posted // len(invoices))
    sdk.set_return_value({"posted": posted})

Standard library only: the agent copies this package, with robofleet.contract (the one module
of Robofleet it imports), into the job's environment.
"""

from robofleet.sdk import storage
from robofleet.sdk.http import RobofleetError
from robofleet.sdk.job import (
    default_task,
    job_guid,
    log,
    parameter,
    parameters,
    robot_guid,
    set_progress,
    set_return_value,
    should_stop,
)
from robofleet.sdk.queues import BusinessError, FinishRefused, Queue, Task, queue
from robofleet.sdk.resources import Credential, get_calendar, get_credential, get_text, set_text

__all__ = [
    "BusinessError",
    "Credential",
    "FinishRefused",
    "Queue",
    "RobofleetError",
    "Task",
    "default_task",
    "get_calendar",
    "get_credential",
    "get_text",
    "job_guid",
    "log",
    "parameter",
    "parameters",
    "queue",
    "robot_guid",
    "set_progress",
    "set_return_value",
    "set_text",
    "should_stop",
    "storage",
]
