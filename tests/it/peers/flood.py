"""A flood against protos.DataExtension/ExtensionData, with messages encoded from the contract's
field numbers: N unauthenticated requests just under the 4 MiB receive limit, all at once on one
connection, and one request with a valid token in the middle of them.

    flood.py HOST:PORT TOKEN N

Prints `authenticated: <code>` and `flood: <count> <code>` for each code the flood got."""

import collections
import sys

import grpc

from protowire import field

METHOD = "/protos.DataExtension/ExtensionData"
LIMIT = 4 * 1024 * 1024


def request(token: str, data: str) -> bytes:
    # data 1 (repeated string), action 3, token 5
    return field(1, data) + field(3, "process") + field(5, token)


def main() -> int:
    address, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    options = [("grpc.max_send_message_length", 2 * LIMIT)]
    with grpc.insecure_channel(address, options=options) as channel:
        call = channel.unary_unary(METHOD)
        big = request("not a token", "x" * (LIMIT - 1024))
        flood = [call.future(big, timeout=120) for _ in range(count)]
        authenticated = call.future(request(token, '{"id": 1}'), timeout=120)
        try:
            authenticated.result()
            print("authenticated: OK")
        except grpc.RpcError as err:
            print(f"authenticated: {err.code().name} {err.details()}")
        codes = collections.Counter()
        for future in flood:
            try:
                future.result()
                codes["OK"] += 1
            except grpc.RpcError as err:
                codes[err.code().name] += 1
        for code, seen in sorted(codes.items()):
            print(f"flood: {seen} {code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
