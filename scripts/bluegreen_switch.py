#!/usr/bin/env python3
"""Move production traffic between the blue and green EKS clusters, step by step.

Traffic split is a pair of Route53 weighted alias records (set identifiers "blue" and
"green") under the regional name, e.g. ``api.eu-west-1.weatherapi.example.com``, created
by ``terraform/modules/dns``. This script moves the weights, e.g. 0 -> 10 -> 50 -> 100
for the target colour, and before every step (and after the last one) checks health gates:

* HTTP gate: ``--probe-count`` GETs of the target cluster's ``/readyz`` through its own
  ALB (``--health-url``, the per-cluster name published by external-dns, sent with the
  customer-facing ``Host`` header); at most ``--max-error-ratio`` may fail.
* Error-rate gate (optional, needs boto3): the 5xx ratio of the target ALB over the last
  minutes from CloudWatch (``HTTPCode_Target_5XX_Count`` + ``HTTPCode_ELB_5XX_Count`` /
  ``RequestCount``) must stay under ``--max-5xx-ratio``.

A failed gate puts the weights back where they were and exits with status 2.

``--dry-run`` prints the plan and touches nothing (no AWS, no network, no boto3 needed)::

    python scripts/bluegreen_switch.py --dry-run --zone-id Z123 \
        --record-name api.eu-west-1.weatherapi.example.com --to green \
        --health-url https://weather-public.green.eu-west-1.weatherapi.example.com/readyz \
        --host-header api.weatherapi.example.com

Standard library only; boto3 is imported lazily for the real switch.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

COLORS = ("blue", "green")
DEFAULT_STEPS = (10, 50, 100)


class PlanError(ValueError):
    """The requested switch plan is invalid."""


class GateFailed(RuntimeError):
    """A health gate did not pass."""


@dataclass(frozen=True)
class Step:
    number: int
    weights: dict[str, int]
    gates_before: list[str] = field(default_factory=list)
    wait_seconds: int = 0


def other(color: str) -> str:
    return "green" if color == "blue" else "blue"


def parse_steps(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise PlanError(f"--steps must be comma-separated integers, got {text!r}") from exc
    return steps


def build_plan(
    to_color: str,
    steps: list[int] | tuple[int, ...] = DEFAULT_STEPS,
    *,
    step_wait: int = 300,
    gates: list[str] | None = None,
) -> list[Step]:
    """Return the weight steps that move all traffic to ``to_color``.

    Weights are percentages of a total of 100 split between the two colours.
    """
    if to_color not in COLORS:
        raise PlanError(f"target colour must be one of {COLORS}, got {to_color!r}")
    if not steps:
        raise PlanError("at least one step is needed")
    if any(s < 1 or s > 100 for s in steps):
        raise PlanError(f"steps must be within 1..100, got {list(steps)}")
    if list(steps) != sorted(set(steps)):
        raise PlanError(f"steps must be strictly increasing, got {list(steps)}")
    if steps[-1] != 100:
        raise PlanError(f"the last step must be 100, got {steps[-1]}")
    gate_names = list(gates or [])
    from_color = other(to_color)
    plan = []
    for number, weight in enumerate(steps, start=1):
        plan.append(
            Step(
                number=number,
                weights={to_color: weight, from_color: 100 - weight},
                gates_before=gate_names,
                wait_seconds=0 if number == 1 else step_wait,
            )
        )
    return plan


def describe_plan(plan: list[Step], args: argparse.Namespace) -> str:
    lines = [
        f"Blue/green switch plan: {other(args.to)} -> {args.to}",
        f"  record: {args.record_name} ({args.record_type}) in zone {args.zone_id}",
        f"  health: GET {args.health_url or '(no HTTP gate)'}"
        + (f" Host: {args.host_header}" if args.host_header else ""),
        f"          {args.probe_count} probes, max error ratio {args.max_error_ratio}",
    ]
    if args.cloudwatch_alb:
        lines.append(
            f"  errors: CloudWatch 5xx ratio of {args.cloudwatch_alb} <= {args.max_5xx_ratio}"
        )
    lines.append("  0. gates on the target before any traffic moves")
    for step in plan:
        wait = f"wait {step.wait_seconds}s, gates, then " if step.wait_seconds else "set "
        weights = ", ".join(f"{color}={step.weights[color]}" for color in COLORS)
        lines.append(f"  {step.number}. {wait}weights {weights}")
    lines.append(f"  {len(plan) + 1}. wait {args.step_wait}s, final gates")
    lines.append("  on any failed gate: restore the original weights, exit 2")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Gates
# ---------------------------------------------------------------------------


def http_gate(
    url: str,
    *,
    host_header: str | None,
    count: int,
    max_error_ratio: float,
    timeout: float = 5.0,
    interval: float = 0.5,
    insecure: bool = False,
) -> tuple[int, int]:
    """GET ``url`` ``count`` times; raise GateFailed when too many are not 200."""
    if not url.startswith(("https://", "http://")):
        raise GateFailed(f"health URL must be http(s): {url}")
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    errors = 0
    for i in range(count):
        request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked above
        if host_header:
            request.add_header("Host", host_header)
        request.add_header("User-Agent", "bluegreen-switch/1")
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:  # nosec B310
                if resp.status != 200:
                    errors += 1
        except (urllib.error.URLError, OSError):
            errors += 1
        if i + 1 < count:
            time.sleep(interval)
    ratio = errors / count if count else 0.0
    if ratio > max_error_ratio:
        raise GateFailed(f"HTTP gate: {errors}/{count} probes of {url} failed")
    return errors, count


def cloudwatch_gate(
    cloudwatch: Any, load_balancer: str, *, minutes: int, max_ratio: float
) -> float:
    """5xx ratio of an ALB (dimension LoadBalancer = app/<name>/<id>) over ``minutes``."""
    end = time.time()
    start = end - minutes * 60

    def total(metric: str) -> float:
        answer = cloudwatch.get_metric_statistics(
            Namespace="AWS/ApplicationELB",
            MetricName=metric,
            Dimensions=[{"Name": "LoadBalancer", "Value": load_balancer}],
            StartTime=start,
            EndTime=end,
            Period=60,
            Statistics=["Sum"],
        )
        return float(sum(point["Sum"] for point in answer.get("Datapoints", [])))

    requests = total("RequestCount")
    if requests == 0:
        return 0.0
    errors = total("HTTPCode_Target_5XX_Count") + total("HTTPCode_ELB_5XX_Count")
    ratio = errors / requests
    if ratio > max_ratio:
        raise GateFailed(f"error-rate gate: 5xx ratio {ratio:.4f} > {max_ratio} on {load_balancer}")
    return ratio


# ---------------------------------------------------------------------------
# Route53
# ---------------------------------------------------------------------------


def weighted_records(route53: Any, zone_id: str, name: str, record_type: str) -> dict[str, dict]:
    fqdn = name.rstrip(".") + "."
    found: dict[str, dict] = {}
    paginator = route53.get_paginator("list_resource_record_sets")
    for page in paginator.paginate(
        HostedZoneId=zone_id, StartRecordName=fqdn, StartRecordType=record_type
    ):
        for record in page["ResourceRecordSets"]:
            if record["Name"] != fqdn or record["Type"] != record_type:
                continue
            if record.get("SetIdentifier") in COLORS and "Weight" in record:
                found[record["SetIdentifier"]] = record
    missing = [c for c in COLORS if c not in found]
    if missing:
        raise PlanError(f"no weighted record for {missing} at {fqdn} ({record_type})")
    return found


def set_weights(
    route53: Any, zone_id: str, records: dict[str, dict], weights: dict[str, int], comment: str
) -> None:
    changes = []
    for color, weight in weights.items():
        record = dict(records[color])
        record["Weight"] = weight
        changes.append({"Action": "UPSERT", "ResourceRecordSet": record})
    answer = route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Comment": comment, "Changes": changes}
    )
    route53.get_waiter("resource_record_sets_changed").wait(Id=answer["ChangeInfo"]["Id"])


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zone-id", required=True, help="Route53 hosted zone id")
    parser.add_argument(
        "--record-name", required=True, help="weighted record, e.g. api.eu-west-1.<zone>"
    )
    parser.add_argument("--record-type", default="A")
    parser.add_argument("--to", required=True, choices=COLORS, help="colour to move traffic to")
    parser.add_argument("--steps", default=",".join(map(str, DEFAULT_STEPS)))
    parser.add_argument("--step-wait", type=int, default=300, help="seconds between steps")
    parser.add_argument("--health-url", help="https://<target cluster name>/readyz")
    parser.add_argument("--host-header", help="customer-facing host sent to the target ALB")
    parser.add_argument("--probe-count", type=int, default=20)
    parser.add_argument("--max-error-ratio", type=float, default=0.0)
    parser.add_argument("--insecure", action="store_true", help="skip TLS verification")
    parser.add_argument("--cloudwatch-alb", help="target ALB dimension app/<name>/<id>")
    parser.add_argument("--cloudwatch-minutes", type=int, default=5)
    parser.add_argument("--max-5xx-ratio", type=float, default=0.01)
    parser.add_argument("--region", help="AWS region of the ALB (CloudWatch)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    return parser.parse_args(argv)


def run_gates(args: argparse.Namespace, cloudwatch: Any) -> None:
    if args.health_url:
        errors, total = http_gate(
            args.health_url,
            host_header=args.host_header,
            count=args.probe_count,
            max_error_ratio=args.max_error_ratio,
            insecure=args.insecure,
        )
        print(f"    HTTP gate ok: {total - errors}/{total} probes answered 200", flush=True)
    if args.cloudwatch_alb and cloudwatch is not None:
        ratio = cloudwatch_gate(
            cloudwatch,
            args.cloudwatch_alb,
            minutes=args.cloudwatch_minutes,
            max_ratio=args.max_5xx_ratio,
        )
        print(f"    error-rate gate ok: 5xx ratio {ratio:.4f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    gates = []
    if args.health_url:
        gates.append("http")
    if args.cloudwatch_alb:
        gates.append("cloudwatch-5xx")
    try:
        plan = build_plan(args.to, parse_steps(args.steps), step_wait=args.step_wait, gates=gates)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 64

    if args.json:
        print(
            json.dumps(
                {"to": args.to, "record": args.record_name, "steps": [asdict(s) for s in plan]},
                indent=2,
            )
        )
    else:
        print(describe_plan(plan, args))
    if args.dry_run:
        print("dry run: nothing changed")
        return 0
    if not gates:
        print("error: refusing to switch without a health gate (--health-url)", file=sys.stderr)
        return 64

    try:
        import boto3  # noqa: PLC0415 - optional dependency, only for a real switch
    except ImportError:
        print("error: boto3 is required for a real switch (pip install boto3)", file=sys.stderr)
        return 69

    route53 = boto3.client("route53")
    cloudwatch = (
        boto3.client("cloudwatch", region_name=args.region) if args.cloudwatch_alb else None
    )
    records = weighted_records(route53, args.zone_id, args.record_name, args.record_type)
    original = {color: int(records[color]["Weight"]) for color in COLORS}
    print(f"current weights: {original}", flush=True)

    try:
        print("  0. pre-flight gates on the target", flush=True)
        run_gates(args, cloudwatch)
        for step in plan:
            if step.wait_seconds:
                print(f"  waiting {step.wait_seconds}s before step {step.number}", flush=True)
                time.sleep(step.wait_seconds)
                run_gates(args, cloudwatch)
            print(f"  {step.number}. setting weights {step.weights}", flush=True)
            set_weights(
                route53, args.zone_id, records, step.weights, f"bluegreen_switch step {step.number}"
            )
        print(f"  final: waiting {args.step_wait}s, then gates", flush=True)
        time.sleep(args.step_wait)
        run_gates(args, cloudwatch)
    except GateFailed as exc:
        print(f"GATE FAILED: {exc}; restoring {original}", file=sys.stderr, flush=True)
        set_weights(route53, args.zone_id, records, original, "bluegreen_switch rollback")
        return 2
    print(f"done: all traffic on {args.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
