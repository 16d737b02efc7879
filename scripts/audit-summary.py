#!/usr/bin/python3
"""Prints wardgate's audit events (the JSON lines of its log) one short line each, for people.

    audit-summary.py FILE      (or - for standard input)
"""
import json
import sys

KEYS = ("command", "status_class", "sop_instance_uid", "message_type", "control_id", "from", "code",
        "acknowledged_control_id", "latency_ms", "error", "patient_id", "query_level", "alert",
        "reason", "violation", "ended", "objects", "calling_ae", "called_ae", "peer", "endpoint",
        "backend", "protocol", "destination", "destination_port", "mac", "flows", "by", "until",
        "how")


def main():
    source = sys.stdin if len(sys.argv) < 2 or sys.argv[1] == "-" else open(sys.argv[1])
    for line in source:
        if not line.startswith("{"):
            continue
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        f = e.get("fields", {})
        detail = " ".join(f"{k}={f[k]}" for k in KEYS if k in f)
        if len(detail) > 150:
            detail = detail[:147] + "..."
        print(f"{e['time'][11:23]} {e['device']:8} {e['action']:22} {e['outcome']:8} {detail}")


if __name__ == "__main__":
    main()
