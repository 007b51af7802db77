"""What a broken or hostile client sends, against a generated server, over raw HTTP/2.

    hostile.py HOST:PORT PID
    hostile.py HOST:PORT --once    (every fault once, unchecked: traffic for bench/soak.sh)

Every fault runs once to warm the server up (5,000 idle connections four times, which is what
it takes an allocator to reach the level it then keeps), then once measured. After each, a
health check on a new connection must succeed, and the server's resident memory must be back
within 10% of its level before the fault (or of the highest level the warm-up of that fault
left, where that is higher): allocators keep the pages they freed, or give them back only now
and then, so growth shows as a level that keeps rising, not as pages that stay. Prints a JSON line per fault: its name, what the server answered, and
the RSS before and after (KiB). Exits 1, naming the fault, when one of the checks fails.
"""

import json
import socket
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

HEALTH = "/grpc.health.v1.Health/Check"
# A HealthCheckRequest with no service: the server's overall health.
EMPTY = b""


def frame(payload, compressed=False, length=None):
    """A gRPC message: the compressed flag, the length (which may lie) and the payload."""
    size = len(payload) if length is None else length
    return struct.pack(">BI", 1 if compressed else 0, size) + payload


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Conn:
    """One HTTP/2 connection, driven by hand."""

    def __init__(self, address, window=None):
        self.sock = socket.create_connection(address, timeout=10)
        self.closed = False
        config = h2.config.H2Configuration(
            client_side=True,
            header_encoding="utf-8",
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
        )
        self.h2 = h2.connection.H2Connection(config=config)
        self.h2.initiate_connection()
        if window is not None:
            self.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.h2.max_outbound_frame_size = 16384
        self.flush()

    def flush(self):
        """Send what is pending; a server that closed the connection ends it, which `outcome`
        then reports."""
        data = self.h2.data_to_send()
        if data and not self.closed:
            try:
                self.sock.sendall(data)
            except ConnectionError:
                self.closed = True

    def open(self, headers=(), content_type="application/grpc", path=HEALTH):
        stream = self.h2.get_next_available_stream_id()
        request = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "localhost"),
            ("content-type", content_type),
            ("te", "trailers"),
        ]
        self.h2.send_headers(stream, request + list(headers))
        self.flush()
        return stream

    def send(self, stream, data, end=True):
        self.h2.send_data(stream, data, end_stream=end)
        self.flush()

    def outcome(self, stream, seconds=10):
        """How `stream` ended: `grpc-status N`, `http N`, `reset N`, `goaway N` or `closed`."""
        http = None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return "timeout"
            except ConnectionError:
                return "closed"
            if not data:
                return "closed"
            try:
                events = self.h2.receive_data(data)
            except h2.exceptions.ProtocolError as err:
                return f"protocol error {err}"
            for event in events:
                if isinstance(event, h2.events.ConnectionTerminated):
                    return f"goaway {int(event.error_code)}"
                if getattr(event, "stream_id", None) != stream:
                    continue
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    headers = dict(event.headers)
                    http = headers.get(":status", http)
                    if http != "200":
                        return f"http {http}"
                    if "grpc-status" in headers:
                        return f"grpc-status {headers['grpc-status']}"
                elif isinstance(event, h2.events.DataReceived):
                    self.h2.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, h2.events.StreamReset):
                    return f"reset {int(event.error_code)}"
                elif isinstance(event, h2.events.StreamEnded):
                    return f"http {http}"
            self.flush()
        return "timeout"

    def close(self):
        self.sock.close()


def call(address, headers=(), body=frame(EMPTY), content_type="application/grpc", **conn):
    """One health check with the given twists; what the server answered."""
    conn = Conn(address, **conn)
    try:
        stream = conn.open(headers, content_type)
        conn.send(stream, body)
        return conn.outcome(stream)
    finally:
        conn.close()


def answered(outcome):
    """A gRPC status other than OK, an HTTP error, or the one stream (or connection) closed."""
    return outcome.startswith(("grpc-status", "http", "reset", "goaway", "closed")) and outcome not in (
        "grpc-status 0",
        "http 200",
    )


def not_protobuf(address):
    return call(address, body=frame(b"\xff\xff\xff garbage")), answered


def truncated(address):
    return call(address, body=frame(b"\x0a\x03ab", length=10)), answered


def lying_length(address):
    return call(address, body=frame(b"\x0a\x00", length=0xFFFFFFF0)), answered


def compressed_without_encoding(address):
    return call(address, body=frame(b"\x0a\x00", compressed=True)), answered


def wrong_content_type(address):
    return call(address, content_type="text/plain"), lambda o: o == "http 415"


def bad_timeout(address):
    outcome = call(address, headers=[("grpc-timeout", "soon")])
    return outcome, lambda o: o.startswith("grpc-status")


def one_nanosecond_timeout(address):
    outcome = call(address, headers=[("grpc-timeout", "1n")])
    return outcome, lambda o: o in ("grpc-status 4", "grpc-status 0")


def metadata_64_kib(address):
    return call(address, headers=[("x-large", "x" * 65536)]), answered


def metadata_10000_entries(address):
    headers = [(f"x-entry-{i}", "v") for i in range(10000)]
    return call(address, headers=headers), answered


def reset_mid_call(address):
    conn = Conn(address)
    stream = conn.open()
    conn.send(stream, frame(EMPTY)[:3], end=False)
    conn.h2.reset_stream(stream)
    conn.flush()
    # The same connection still serves a call.
    stream = conn.open()
    conn.send(stream, frame(EMPTY))
    outcome = conn.outcome(stream)
    conn.close()
    return outcome, lambda o: o == "grpc-status 0"


def disconnect_mid_stream(address):
    conn = Conn(address)
    stream = conn.open()
    conn.send(stream, frame(EMPTY)[:3], end=False)
    conn.close()
    return "disconnected", lambda o: True


def never_reads(address):
    """Streams that the server may not answer: the client's flow-control window is 0."""
    conn = Conn(address, window=0)
    for _ in range(100):
        stream = conn.open()
        conn.send(stream, frame(EMPTY))
    time.sleep(1)
    conn.close()
    return "100 streams held", lambda o: True


def idle_connections(address):
    conns = [Conn(address) for _ in range(5000)]
    outcome = call(address)
    for conn in conns:
        conn.close()
    return f"5000 open, then {outcome}", lambda o: o.endswith("grpc-status 0")


def slowloris(address, seconds=5):
    """A client that sends its preface one byte a second, while others are served."""
    sock = socket.create_connection(address)
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    served = []
    for i in range(seconds):
        sock.send(preface[i : i + 1])
        served.append(call(address))
        time.sleep(1)
    sock.close()
    ok = all(o == "grpc-status 0" for o in served)
    return f"{seconds} bytes in {seconds} s, others {'served' if ok else served}", lambda o: ok


FAULTS = [
    not_protobuf,
    truncated,
    lying_length,
    compressed_without_encoding,
    wrong_content_type,
    bad_timeout,
    one_nanosecond_timeout,
    metadata_64_kib,
    metadata_10000_entries,
    reset_mid_call,
    disconnect_mid_stream,
    never_reads,
    idle_connections,
    slowloris,
]


def warm_up(rounds):
    """Every fault once, then 5,000 idle connections again until the level they leave stops
    rising: the heap keeps each round's high-water mark, and climbs to its plateau in fewer
    rounds on an idle machine than on a loaded one. A leak has no plateau, so the warm-up ends
    after 8 rounds, and the measured round rises again."""
    yield from FAULTS
    for _ in range(7):
        levels = rounds["idle_connections"]
        if len(levels) >= 4 and levels[-1] <= levels[-2] * 1.02:
            return
        yield idle_connections


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    address = (host.strip("[]"), int(port))
    if sys.argv[2] == "--once":
        for fault in FAULTS:
            fault(address)
        return
    pid = int(sys.argv[2])
    failed = []
    # The highest level each fault left during the warm-up: an allocator that gives pages back
    # only now and then (mimalloc) may be below it when a fault starts, and back at it after.
    warm_level = {}
    # The level after each round of each fault. A fault that holds much memory while it runs
    # (5,000 connections) leaves the heap at that round's high-water mark, which varies from
    # round to round with timing; a leak shows as a level that rises with every round.
    rounds = {}
    for measured in (False, True):
        for fault in FAULTS if measured else warm_up(rounds):
            before = rss_kib(pid)
            outcome, expected = fault(address)
            normal = call(address)
            # An allocator may give pages back a little later: wait up to 5 s for it.
            after = rss_kib(pid)
            level = max(before, warm_level.get(fault.__name__, 0))
            for _ in range(20):
                if after <= level * 1.10:
                    break
                time.sleep(0.25)
                after = rss_kib(pid)
            rounds.setdefault(fault.__name__, []).append(after)
            if not measured:
                warm_level[fault.__name__] = max(after, warm_level.get(fault.__name__, 0))
                continue
            result = {
                "fault": fault.__name__,
                "outcome": outcome,
                "then": normal,
                "rss_before_kib": before,
                "rss_warm_up_kib": warm_level.get(fault.__name__, 0),
                "rss_after_kib": after,
            }
            print(json.dumps(result), flush=True)
            if not expected(outcome):
                failed.append(f"{fault.__name__}: unexpected answer `{outcome}`")
            if normal != "grpc-status 0":
                failed.append(f"{fault.__name__}: the next call got `{normal}`")
            levels = rounds[fault.__name__]
            rising = len(levels) < 3 or all(a < b for a, b in zip(levels, levels[1:]))
            if after > level * 1.10 and rising:
                failed.append(
                    f"{fault.__name__}: RSS grew from {level} to {after} KiB (rounds: {levels})"
                )
    if failed:
        print("\n".join(failed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
