"""A robot script as Sherpa framework users write one (ProcessVersion name `invoices\\pay`):
its job's default task names the work queue and the resources; it signs in with a credential,
queues the invoices it was given, then takes the queue's tasks one by one, paying each or
failing it as a business error, logs as it goes, and leaves a summary in a text asset.

A soft stop (SIGBREAK on Windows, SIGINT here) is trapped: the script stops taking tasks and
exits cleanly, as the framework's pages ask."""

from __future__ import annotations

import json
import signal
import sys
import time

from orchestrator_api import TaskOrchestratorAPI, parameters_of

NEW, IN_PROGRESS, SUCCESS, FAILED_BUSINESS = 0, 1, 2, 4
stop_requested = False


def request_stop(signum: int, frame: object) -> None:
    global stop_requested
    stop_requested = True


def main(api: TaskOrchestratorAPI) -> int:
    if not api.default_task_guid:
        raise RuntimeError("the job has no default task, so no queue to work on")
    config = parameters_of(api.read_task(api.default_task_guid))

    credential = api.read_asset(config["credential"])
    login, password = credential["text"], credential["password"]
    api.log(f"signed in to the bank as {login} (password of {len(password)} characters)")

    for invoice in config["invoices"].split(";"):
        number, amount = invoice.split("=")
        api.add_task(config["queue_guid"], number, json.dumps({"amount": amount}))
    api.add_task(config["queue_guid"])  # the helper's defaults: "NewTask", {"": ""}

    paid, total = 0, 0.0
    delay = float(config.get("seconds_per_task", "0"))
    while not stop_requested:
        task = api.get_last_task(config["queue_guid"])
        if task is None:
            break
        api.update_task(task["guid"], IN_PROGRESS)
        amount = parameters_of(task).get("amount", "")
        time.sleep(delay)
        if not amount:
            api.update_task(task["guid"], FAILED_BUSINESS)
            api.log(f"task {task['name']} has no amount: business error", level="Warning")
            continue
        api.update_task(task["guid"], SUCCESS)
        paid, total = paid + 1, total + float(amount)
        api.log(f"paid {task['name']}: {amount}")

    state = api.read_asset(config["state_asset"])
    api.update_asset(state["guid"], state["name"], text=f"paid {paid} invoices, total {total:.2f}")
    api.log("stopped on request" if stop_requested else "all invoices done", level="Info")
    return 0


if __name__ == "__main__":
    signal.signal(getattr(signal, "SIGBREAK", signal.SIGINT), request_stop)
    orchestrator = TaskOrchestratorAPI(sys.argv[1])
    try:
        sys.exit(main(orchestrator))
    except Exception as error:
        # The framework only sees the exit code: say why in the job's log first.
        orchestrator.log(f"script failed: {error}", level="Error")
        sys.exit(1)
