"""Runs every (tool, model) pair of the peer comparison and prints a table and a CSV.

Usage: python driver.py <kubesim peers example binary> <out.csv>

Every run is its own process (models.py for the Python tools, the `peers` example for
kubesim). Run lengths differ per tool so the whole comparison takes a few minutes; the table
compares rates (events/s, customers/s), which do not depend on run length. Each pair runs
PEERS_REPEAT times (default 3) in interleaved rounds and the table shows its fastest run (every
tool alike), with the median wall time in the CSV.
"""

import csv
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCALE = float(os.environ.get("PEERS_SCALE", "1"))
# Runs of every (model, tool) pair; the table shows each pair's fastest.
REPEAT = max(1, int(os.environ.get("PEERS_REPEAT", "3")))
SEED = 1
ERLANG_C = {1: 9.0, 4: 1.9694, 16: 0.3696}

# Hold model: timed events per run (per pending size).
HOLD_EVENTS = {"kubesim": 10_000_000, "simpy": 1_000_000, "salabim": 500_000}
# M/M/c: customers per run (arrivals expected in the run).
MMC_CUSTOMERS = {"kubesim": 2_000_000, "simpy": 100_000, "salabim": 10_000, "ciw": 20_000}


def run_json(cmd):
    """Runs one benchmark process and parses its JSON line."""
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def n(x):
    return max(1, int(x * SCALE))


def jobs(kubesim):
    """Every (model, tool) pair as (model, tool, command, kind), in table order."""
    py = [sys.executable, os.path.join(HERE, "models.py")]
    out = []
    for pending in (1_000, 100_000):
        for tool in ("kubesim", "simpy", "salabim"):
            events = n(HOLD_EVENTS[tool])
            if tool == "kubesim":
                cmd = [kubesim, "hold", str(pending), str(events), str(SEED)]
            else:
                cmd = py + [tool, "hold", str(pending), str(events), str(SEED)]
            out.append((f"hold N={pending}", tool, cmd, "hold"))
    for c in (1, 4, 16):
        for tool in ("kubesim", "simpy", "salabim", "ciw"):
            customers = n(MMC_CUSTOMERS[tool])
            if tool == "kubesim":
                secs = max(1, round(customers / (0.9 * c)))
                cmd = [kubesim, "mmc", str(c), str(secs), str(SEED)]
            else:
                cmd = py + [tool, "mmc", str(c), str(customers), str(SEED)]
            out.append((f"M/M/{c} rho=0.9", tool, cmd, c))
    return out


def row(model, tool, kind, runs):
    """The table row of one (model, tool) pair from its runs: the fastest run (the same seed
    and length every time, so the same work), with the median wall time beside it."""
    r = min(runs, key=lambda x: x["wall_s"])
    walls = sorted(x["wall_s"] for x in runs)
    common = {
        "model": model,
        "tool": tool,
        "runs": len(runs),
        "wall_s": r["wall_s"],
        "wall_s_median": walls[len(walls) // 2],
    }
    if kind == "hold":
        return {
            **common,
            "events": r["events"],
            "customers": "",
            "events_per_s": r["events"] / r["wall_s"],
            "customers_per_s": "",
            "mean_wait_s": "",
            "erlang_c_wait_s": "",
        }
    ev = r["events"]
    return {
        **common,
        "events": "" if ev is None else ev,
        "customers": r["customers"],
        "events_per_s": "" if ev is None else ev / r["wall_s"],
        "customers_per_s": r["customers"] / r["wall_s"],
        "mean_wait_s": r["mean_wait_s"],
        "erlang_c_wait_s": ERLANG_C[kind],
    }


def main():
    kubesim, out = sys.argv[1], sys.argv[2]
    todo = jobs(kubesim)
    # Every pair runs REPEAT times, in interleaved rounds (all pairs once, then again), so a
    # slow spell of a shared host hits every tool alike instead of one tool's every run.
    results = {i: [] for i in range(len(todo))}
    for rnd in range(REPEAT):
        for i, (model, tool, cmd, _) in enumerate(todo):
            print(f"round {rnd + 1}/{REPEAT}: {model} {tool}", file=sys.stderr, flush=True)
            results[i].append(run_json(cmd))
    rows = [row(m, t, k, results[i]) for i, (m, t, _, k) in enumerate(todo)]
    for i, r in enumerate(rows):
        print_row(r, first=i == 0)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print_ratios(rows)
    print(f"CSV: {out}")


def fmt(x, spec):
    return "-" if x == "" else format(x, spec)


def print_row(r, first=False):
    if first:
        print(
            f"{'model':<16} {'tool':<8} {'events':>10} {'customers':>10} {'wall s':>8} "
            f"{'median s':>8} {'events/s':>12} {'customers/s':>12} {'Wq':>8} {'Erlang C':>8}"
        )
    print(
        f"{r['model']:<16} {r['tool']:<8} {fmt(r['events'], 'd'):>10} "
        f"{fmt(r['customers'], 'd'):>10} {r['wall_s']:>8.2f} "
        f"{r['wall_s_median']:>8.2f} {fmt(r['events_per_s'], ',.0f'):>12} "
        f"{fmt(r['customers_per_s'], ',.0f'):>12} {fmt(r['mean_wait_s'], '.4f'):>8} "
        f"{fmt(r['erlang_c_wait_s'], '.4f'):>8}",
        flush=True,
    )


def print_ratios(rows):
    """kubesim / SimPy on equal work: events/s for hold, customers/s for M/M/c."""
    by = {(r["model"], r["tool"]): r for r in rows}
    print("kubesim / SimPy:")
    for model in sorted({r["model"] for r in rows}):
        k, s = by[(model, "kubesim")], by[(model, "simpy")]
        key = "events_per_s" if model.startswith("hold") else "customers_per_s"
        print(f"  {model:<16} {key:<16} {k[key] / s[key]:8.1f}x")


if __name__ == "__main__":
    main()
