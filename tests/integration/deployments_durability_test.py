#!/usr/bin/python3
"""An acknowledged write survives SIGKILL (ctest integration.deployments_durability).

    deployments_durability_test.py PATH/TO/ringshard [ROUNDS]

ROUNDS times (6 by default): start ringshard with the deployments plugin on
one data directory; four client threads create deployments as fast as the
server answers (every other one with an Idempotency-Key; thread 0 also
deletes some of what it made) and record every acknowledged answer (201,
202); at a random moment after the first few acknowledgements the server
gets SIGKILL. Then it is started again on the same directory, and:
  - every acknowledged deployment exists, as acknowledged (batch gets);
  - every acknowledged delete left it terminating or terminated;
  - every acknowledged Idempotency-Key replays the same status and body;
  - lifecycles resume: what was pending reaches running, what was
    terminating reaches terminated (the wait long-poll).
At the end a clean stop (SIGTERM, exit 0), one more start, and the whole
history checked again, through the list this time.

Exit status: 0 passed, 1 failed. Bounded: about 5-10 s a round.
"""

import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deployments_support import (  # noqa: E402
    DeploymentsServer, TestFailure, batch_request, batch_results, binary_from_argv, check,
    create_body, expect_equal, expect_status, temp_dir, unique, wait_path)

WORKERS = 4
MIN_ACKS = 8          # acknowledgements in a round before the kill may come
KILL_WINDOW_S = 1.0   # then the kill comes within this, at random
START_DELAY_MS = 1500  # long enough that the newest deployments are pending at the kill
PLUGIN = {"executor": {"start_delay_ms": START_DELAY_MS, "stop_delay_ms": START_DELAY_MS}}
STEP_S = 15.0


class History:
    """What the server acknowledged, across rounds. Guarded by `lock`."""

    def __init__(self):
        self.lock = threading.Lock()
        self.created = {}   # id -> (round, 201 body as parsed)
        self.keyed = {}     # key -> (round, request body, 201 body bytes)
        self.deleted = {}   # id -> round (202 received)
        self.delete_sent = set()  # ids a DELETE was sent for (maybe lost in the kill)
        self.round_acks = 0


def worker(srv, hist, rnd, index, killing, errors):
    c = srv.client()
    mine = []
    i = 0
    try:
        while True:
            body = create_body(f"dur-r{rnd}-w{index}-{i}")
            key = f"dur-{rnd}-{index}-{i}-{unique('k')}" if i % 2 else None
            headers = {"Idempotency-Key": key} if key else None
            try:
                r = c.post("/v1/deployments", body, headers=headers)
            except TestFailure:
                if killing.is_set():
                    return
                raise
            expect_status(r, 201, f"round {rnd} worker {index} create {i}")
            d = r.json()
            with hist.lock:
                hist.created[d["id"]] = (rnd, d)
                if key:
                    hist.keyed[key] = (rnd, body, r.body)
                hist.round_acks += 1
            mine.append(d["id"])
            if index == 0 and i % 4 == 3:
                victim = mine[-2]  # made a moment ago: likely still pending
                with hist.lock:
                    hist.delete_sent.add(victim)
                try:
                    r = c.delete(f"/v1/deployments/{victim}")
                except TestFailure:
                    if killing.is_set():
                        return
                    raise
                expect_status(r, 202, f"round {rnd} delete of {victim}")
                with hist.lock:
                    hist.deleted.setdefault(victim, rnd)
            i += 1
    except Exception as e:
        if not killing.is_set():
            errors.append(e)


def batch_get(c, ids):
    """{id: (status, body)} through POST /v1/batch, 100 gets at a time."""
    out = {}
    ids = list(ids)
    for start in range(0, len(ids), 100):
        part = ids[start:start + 100]
        r = c.post("/v1/batch", batch_request([("get", i) for i in part]))
        expect_status(r, 200, "batch of gets")
        res = batch_results(r)
        expect_equal(len(res), len(part), "results of a batch of gets")
        out.update(zip(part, res))
    return out


def verify(srv, hist, label, resumed):
    c = srv.client()
    with hist.lock:
        created = dict(hist.created)
        keyed = dict(hist.keyed)
        deleted = dict(hist.deleted)
        delete_sent = set(hist.delete_sent)
    found = batch_get(c, created)
    last_round = max((rnd for rnd, _ in created.values()), default=-1)
    pending, stopping = [], []
    for dep_id, (rnd, acked) in created.items():
        status, body = found[dep_id]
        check(status == 200, f"{label}: {dep_id} acknowledged in round {rnd} is gone "
                             f"(batch get answered {status}: {body})")
        for field in ("name", "image", "resources", "created_at"):
            expect_equal(body.get(field), acked.get(field), f"{label}: {dep_id} {field}")
        if dep_id in deleted:
            check(body["status"] in ("terminating", "terminated"),
                  f"{label}: {dep_id} deleted (202) in round {deleted[dep_id]} is "
                  f"{body['status']}")
        elif dep_id in delete_sent:  # its DELETE was in flight at a kill: either way
            check(body["status"] in ("pending", "running", "terminating", "terminated"),
                  f"{label}: {dep_id} is {body['status']} (failure_rate is 0)")
        else:
            check(body["status"] in ("pending", "running"),
                  f"{label}: {dep_id}, never deleted, is {body['status']} (failure_rate is 0)")
        if body["status"] == "terminating":
            stopping.append(dep_id)
        elif body["status"] == "pending":
            pending.append(dep_id)

    # Replay the keys of the last round, and a sample of older ones.
    recent = [k for k, v in keyed.items() if v[0] == last_round]
    older = [k for k, v in keyed.items() if v[0] != last_round]
    sample = recent + random.sample(older, min(20, len(older)))
    for key in sample:
        rnd, body, acked = keyed[key]
        r = c.post("/v1/deployments", body, headers={"Idempotency-Key": key})
        expect_status(r, 201, f"{label}: replay of key {key} (round {rnd})")
        expect_equal(r.body, acked, f"{label}: replayed body for key {key}")
        expect_equal(r.header("Idempotent-Replayed"), "true",
                     f"{label}: Idempotent-Replayed for key {key}")

    # Lifecycles resume after the restart.
    for dep_id in pending:
        r = c.get(wait_path(dep_id, "running", 10_000))
        expect_status(r, 200, f"{label}: {dep_id}, pending at the restart, reaching running")
    for dep_id in stopping:
        r = c.get(wait_path(dep_id, "terminated", 10_000))
        expect_status(r, 200, f"{label}: {dep_id}, terminating at the restart, reaching "
                              "terminated")
    resumed["pending"] += len(pending)
    resumed["terminating"] += len(stopping)
    return len(created), len(sample)


def run_round(srv, hist, rnd, rng):
    with hist.lock:
        hist.round_acks = 0
    killing = threading.Event()
    errors = []
    threads = [threading.Thread(target=worker, args=(srv, hist, rnd, i, killing, errors))
               for i in range(WORKERS)]
    for t in threads:
        t.start()
    end = time.monotonic() + STEP_S
    while time.monotonic() < end and not errors:
        with hist.lock:
            if hist.round_acks >= MIN_ACKS:
                break
        time.sleep(0.01)
    with hist.lock:
        acks = hist.round_acks
    check(not errors, f"round {rnd}: a client failed before the kill: {errors[:1]}")
    check(acks >= MIN_ACKS, f"round {rnd}: only {acks} acknowledgements in {STEP_S:.0f} s")
    # The kill lands at a random point of the write path.
    time.sleep(rng.uniform(0, KILL_WINDOW_S))
    killing.set()
    srv.kill()
    for t in threads:
        t.join(STEP_S)
    check(not any(t.is_alive() for t in threads), f"round {rnd}: a client hung after the kill")
    check(not errors, f"round {rnd}: a client failed: {errors[:1]}")
    with hist.lock:
        return hist.round_acks


def main():
    binary = binary_from_argv()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    seed = int(os.environ.get("RINGSHARD_TEST_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    random.seed(seed)
    print(f"seed {seed} (RINGSHARD_TEST_SEED to repeat)")
    hist = History()
    resumed = {"pending": 0, "terminating": 0}
    with temp_dir("ringshard-durability-") as work:
        srv = DeploymentsServer(binary, plugin=PLUGIN, work_dir=work, tls=False)
        failed = False
        try:
            for rnd in range(rounds):
                t0 = time.monotonic()
                srv.start()
                if rnd > 0:
                    n, keys = verify(srv, hist, f"after kill {rnd}", resumed)
                    print(f"  restart {rnd}: {n} deployments and {keys} keys as acknowledged")
                acks = run_round(srv, hist, rnd, rng)
                print(f"ok   round {rnd}: {acks} acknowledged, then SIGKILL "
                      f"({time.monotonic() - t0:.1f} s)", flush=True)
            srv.start()
            verify(srv, hist, f"after kill {rounds}", resumed)
            expect_equal(srv.stop(), 0, "exit status after SIGTERM")
            srv.start()
            verify(srv, hist, "after a clean restart", resumed)
            listed = {d["id"] for d in srv.client().list_all()}
            missing = set(hist.created) - listed
            check(not missing, f"{len(missing)} acknowledged deployments are not listed, e.g. "
                               f"{sorted(missing)[:3]}")
            check(resumed["pending"] > 0,
                  "no deployment was pending at any restart: the resume was never checked "
                  f"(START_DELAY_MS {START_DELAY_MS} too short for this machine?)")
            expect_equal(srv.stop(), 0, "exit status after the last SIGTERM")
            print(f"ok   {len(hist.created)} deployments, {len(hist.keyed)} keys, "
                  f"{len(hist.deleted)} deletes survived {rounds} kills; resumed "
                  f"{resumed['pending']} pending and {resumed['terminating']} terminating")
        except TestFailure as e:
            failed = True
            print(f"FAIL: {e}")
        except Exception:
            failed = True
            import traceback
            print(f"FAIL: unexpected exception\n{traceback.format_exc()}")
        finally:
            srv.kill()
        if failed:
            print("---- server stderr (tail) ----")
            print(srv.output(8000))
            print("0 passed, 1 failed")
            return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
