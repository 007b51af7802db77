"""A load generator for the drain test: WORKERS threads, each on a connection of its own, call
METHOD (with an empty request) back to back for SECONDS, and sort every call's outcome.

    load.py HOST:PORT METHOD WORKERS SECONDS

Prints one line per outcome: `ok <count> <time of the last one>`, `refused <count> <time>` for
calls that found no server to connect to (they never reached it), and `failed <count> <time>`
followed by the first failures, for calls that reached the server and did not succeed. Times
are Unix seconds."""

import collections
import sys
import threading
import time

import grpc


def main() -> int:
    address, method, workers, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    end = time.monotonic() + seconds
    lock = threading.Lock()
    counts = collections.Counter()
    last = {}
    failures = []

    def record(outcome: str, detail: str = "") -> None:
        with lock:
            counts[outcome] += 1
            last[outcome] = time.time()
            if outcome == "failed" and len(failures) < 5:
                failures.append(detail)

    def work(index: int) -> None:
        # A channel argument of its own per worker, so that each gets its own connection.
        options = [("grpc.channel_id", index)]
        with grpc.insecure_channel(address, options=options) as channel:
            call = channel.unary_unary(method)
            while time.monotonic() < end:
                try:
                    call(b"", timeout=5)
                    record("ok")
                except grpc.RpcError as err:
                    details = err.details() or ""
                    if err.code() == grpc.StatusCode.UNAVAILABLE and "connect" in details.lower():
                        record("refused")
                        time.sleep(0.01)
                    else:
                        record("failed", f"{err.code().name}: {details}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    print("started", flush=True)
    for thread in threads:
        thread.join()
    for outcome in ("ok", "refused", "failed"):
        print(outcome, counts[outcome], f"{last.get(outcome, 0):.3f}")
    for failure in failures:
        print("  ", failure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
