"""Runs every (tool, model) pair of the peer comparison and prints a table and a CSV.

Usage: python driver.py <kubesim peers example binary> <out.csv>

Every run is its own process (models.py for the Python tools, the `peers` example for
kubesim). Run lengths differ per tool so the whole comparison takes a few minutes; the table
compares rates (events/s, customers/s), which do not depend on run length.
"""

import csv
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCALE = float(os.environ.get("PEERS_SCALE", "1"))
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


def main():
    kubesim, out = sys.argv[1], sys.argv[2]
    py = [sys.executable, os.path.join(HERE, "models.py")]
    rows = []
    for pending in (1_000, 100_000):
        for tool in ("kubesim", "simpy", "salabim"):
            events = n(HOLD_EVENTS[tool])
            if tool == "kubesim":
                r = run_json([kubesim, "hold", str(pending), str(events), str(SEED)])
            else:
                r = run_json(py + [tool, "hold", str(pending), str(events), str(SEED)])
            rows.append(
                {
                    "model": f"hold N={pending}",
                    "tool": tool,
                    "events": r["events"],
                    "customers": "",
                    "wall_s": r["wall_s"],
                    "events_per_s": r["events"] / r["wall_s"],
                    "customers_per_s": "",
                    "mean_wait_s": "",
                    "erlang_c_wait_s": "",
                }
            )
            print_row(rows[-1], first=len(rows) == 1)
    for c in (1, 4, 16):
        for tool in ("kubesim", "simpy", "salabim", "ciw"):
            customers = n(MMC_CUSTOMERS[tool])
            if tool == "kubesim":
                secs = max(1, round(customers / (0.9 * c)))
                r = run_json([kubesim, "mmc", str(c), str(secs), str(SEED)])
            else:
                r = run_json(py + [tool, "mmc", str(c), str(customers), str(SEED)])
            ev = r["events"]
            rows.append(
                {
                    "model": f"M/M/{c} rho=0.9",
                    "tool": tool,
                    "events": "" if ev is None else ev,
                    "customers": r["customers"],
                    "wall_s": r["wall_s"],
                    "events_per_s": "" if ev is None else ev / r["wall_s"],
                    "customers_per_s": r["customers"] / r["wall_s"],
                    "mean_wait_s": r["mean_wait_s"],
                    "erlang_c_wait_s": ERLANG_C[c],
                }
            )
            print_row(rows[-1])
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
            f"{'events/s':>12} {'customers/s':>12} {'Wq':>8} {'Erlang C':>8}"
        )
    print(
        f"{r['model']:<16} {r['tool']:<8} {fmt(r['events'], 'd'):>10} "
        f"{fmt(r['customers'], 'd'):>10} {r['wall_s']:>8.2f} {fmt(r['events_per_s'], ',.0f'):>12} "
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
