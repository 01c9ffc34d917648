"""A robot that uses the unmodified robocorp-workitems, robocorp-vault and robocorp-storage
libraries, run in its own Python process with the RC_* variables of a Robofleet job. It
prints what it saw as one JSON line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from robocorp import storage, vault, workitems


def main() -> None:
    work = Path(os.environ["ROBOT_ARTIFACTS"])
    seen: dict[str, object] = {}

    first = workitems.inputs.current
    assert first is not None
    seen["first_id"] = first.id
    seen["first_payload"] = first.payload
    seen["first_file"] = first.get_file("input.txt", work / "input.txt").read_text()
    result = work / "result.txt"
    result.write_text(f"processed {first.payload['n']}")
    output = first.create_output()
    output.payload = {"from": first.payload["n"]}
    output.add_file(result)
    output.save()
    seen["output_id"] = output.id
    first.done()

    second = workitems.inputs.reserve()
    seen["second_payload"] = second.payload
    second.fail("BUSINESS", code="NO_CUSTOMER", message="customer 42 does not exist")

    third = workitems.inputs.reserve()  # never released: settled when the job ends
    seen["third_id"] = third.id

    erp = vault.get_secret("erp")
    seen["erp"] = {"username": erp["username"], "password": erp["password"]}
    erp["password"] = "rotated-password"
    vault.set_secret(erp)
    seen["erp_after"] = vault.get_secret("erp")["password"]
    vault.create_secret("api-token", {"value": "t0ken"}, description="made by the robot")
    seen["api_token"] = vault.get_secret("api-token")["value"]

    storage.set_text("notes/greeting.txt", "olá")
    seen["text"] = storage.get_text("notes/greeting.txt")
    big = bytes(range(256)) * (4 * 1024 * 1024 // 256)
    storage.set_bytes("big.bin", big)
    seen["big_equal"] = storage.get_bytes("big.bin") == big
    storage.set_json("scratch", {"a": 1})
    storage.delete_asset("scratch")
    seen["assets"] = sorted(storage.list_assets())
    print(json.dumps(seen))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
