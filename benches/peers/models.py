"""The peer side of the kubesim comparison: the hold model and M/M/c in SimPy, salabim and Ciw.

Usage: python models.py <tool> hold <pending> <events> <seed>
       python models.py <tool> mmc <c> <customers> <seed>

Prints one JSON object. Each run is a fresh process, so one tool's garbage cannot slow another.

- hold: <pending> entities, each holding Exp(mean 1) and then holding again, so <pending> events
  are always scheduled. One simulated time unit processes about <pending> events; the model is
  first run for one time unit (untimed, to start every entity), then timed for
  <events> / <pending> time units. events = hold completions counted in the timed part.
- mmc: M/M/c with mu = 1, lambda = 0.9 c (rho = 0.9), first-come first-served, run for
  <customers> / lambda time units from empty. customers = customers who finished service;
  mean_wait_s = mean time in queue (arrival to start of service) of every customer who started
  service, the same estimator kubesim uses (from t = 0, no warm-up deletion).
  events = events the tool scheduled, where the tool exposes a count (SimPy), else null.
"""

import json
import random
import sys
import time


def simpy_hold(pending, events, seed):
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    count = [0]

    def entity():
        exp = rng.expovariate
        while True:
            yield env.timeout(exp(1.0))
            count[0] += 1

    for _ in range(pending):
        env.process(entity())
    env.run(until=1.0)
    count[0] = 0
    span = events / pending
    start = time.perf_counter()
    env.run(until=1.0 + span)
    wall = time.perf_counter() - start
    return {"events": count[0], "wall_s": wall}


def salabim_hold(pending, events, seed):
    import salabim as sim

    sim.yieldless(False)
    rng = random.Random(seed)
    count = [0]
    env = sim.Environment(trace=False, random_seed=seed)

    class Entity(sim.Component):
        def process(self):
            exp = rng.expovariate
            while True:
                yield self.hold(exp(1.0))
                count[0] += 1

    for _ in range(pending):
        Entity()
    env.run(till=1.0)
    count[0] = 0
    span = events / pending
    start = time.perf_counter()
    env.run(till=1.0 + span)
    wall = time.perf_counter() - start
    return {"events": count[0], "wall_s": wall}


def simpy_mmc(c, customers, seed):
    import simpy

    lam = 0.9 * c
    rng = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    stats = {"waits": 0.0, "started": 0, "done": 0}

    def customer():
        arrived = env.now
        with servers.request() as req:
            yield req
            stats["waits"] += env.now - arrived
            stats["started"] += 1
            yield env.timeout(rng.expovariate(1.0))
        stats["done"] += 1

    def source():
        while True:
            yield env.timeout(rng.expovariate(lam))
            env.process(customer())

    env.process(source())
    eid0 = next(env._eid)
    start = time.perf_counter()
    env.run(until=customers / lam)
    wall = time.perf_counter() - start
    # SimPy numbers every scheduled event from one counter; reading it costs nothing per event.
    events = next(env._eid) - eid0 - 1
    return {
        "events": events,
        "customers": stats["done"],
        "wall_s": wall,
        "mean_wait_s": stats["waits"] / stats["started"],
    }


def salabim_mmc(c, customers, seed):
    import salabim as sim

    sim.yieldless(False)
    lam = 0.9 * c
    rng = random.Random(seed)
    env = sim.Environment(trace=False, random_seed=seed)
    servers = sim.Resource("servers", capacity=c)
    stats = {"waits": 0.0, "started": 0, "done": 0}

    class Customer(sim.Component):
        def process(self):
            arrived = env.now()
            yield self.request(servers)
            stats["waits"] += env.now() - arrived
            stats["started"] += 1
            yield self.hold(rng.expovariate(1.0))
            self.release()
            stats["done"] += 1

    class Source(sim.Component):
        def process(self):
            while True:
                yield self.hold(rng.expovariate(lam))
                Customer()

    Source()
    start = time.perf_counter()
    env.run(till=customers / lam)
    wall = time.perf_counter() - start
    return {
        "events": None,
        "customers": stats["done"],
        "wall_s": wall,
        "mean_wait_s": stats["waits"] / stats["started"],
    }


def ciw_mmc(c, customers, seed):
    import ciw

    lam = 0.9 * c
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=1.0)],
        number_of_servers=[c],
    )
    ciw.seed(seed)
    start = time.perf_counter()
    q = ciw.Simulation(network)
    q.simulate_until_max_time(customers / lam)
    wall = time.perf_counter() - start
    recs = q.get_all_records()
    # Ciw records a customer when it leaves; customers still queued or in service at the end are
    # not in the records (kubesim and the others do count their waits once service starts).
    waits = [r.waiting_time for r in recs]
    return {
        "events": None,
        "customers": len(recs),
        "wall_s": wall,
        "mean_wait_s": sum(waits) / len(waits),
    }


RUNS = {
    ("simpy", "hold"): simpy_hold,
    ("salabim", "hold"): salabim_hold,
    ("simpy", "mmc"): simpy_mmc,
    ("salabim", "mmc"): salabim_mmc,
    ("ciw", "mmc"): ciw_mmc,
}


def main():
    tool, model, a, b, seed = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    out = RUNS[(tool, model)](a, b, seed)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
