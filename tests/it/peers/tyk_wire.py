"""A wire check of coprocess.Dispatcher/Dispatch that cannot drift with our .proto files: the
Object is encoded by hand from the field numbers of the gateway's protocol, sent with grpcio,
and the reply is decoded by field number.

usage: tyk_wire.py ADDRESS
Prints one line per check, and exits 1 if any fails.
"""

import sys

import grpc

from protowire import decode, field, map_entries

# Field numbers, from the coprocess wire contract.
OBJECT_HOOK_TYPE, OBJECT_HOOK_NAME, OBJECT_REQUEST, OBJECT_SPEC = 1, 2, 3, 6
REQUEST_HEADERS, REQUEST_SET_HEADERS, REQUEST_URL, REQUEST_ADD_PARAMS = 1, 2, 5, 7
REQUEST_RETURN_OVERRIDES, REQUEST_METHOD = 10, 11
OVERRIDES_RESPONSE_CODE, OVERRIDES_RESPONSE_ERROR = 1, 2
HOOK_PRE, HOOK_CUSTOM_KEY_CHECK = 1, 4


def decode_map(values) -> dict:
    entries = {}
    for entry in values:
        fields = decode(entry)
        entries[fields[1][0].decode()] = fields.get(2, [b""])[0].decode()
    return entries


def signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def dispatch(channel, hook_type: int, hook_name: str) -> dict:
    request = (
        map_entries(REQUEST_HEADERS, {"Accept": "*/*"})
        + field(REQUEST_URL, "/pet/findByStatus?status=available")
        + field(REQUEST_RETURN_OVERRIDES, field(OVERRIDES_RESPONSE_CODE, -1))
        + field(REQUEST_METHOD, "GET")
    )
    obj = (
        field(OBJECT_HOOK_TYPE, hook_type)
        + field(OBJECT_HOOK_NAME, hook_name)
        + field(OBJECT_REQUEST, request)
        + map_entries(OBJECT_SPEC, {"APIID": "wire-test"})
    )
    call = channel.unary_unary("/coprocess.Dispatcher/Dispatch")
    return decode(call(obj, timeout=10))


def main() -> int:
    checks = []

    def check(name, actual, expected):
        ok = actual == expected
        checks.append(ok)
        print(f"{'ok' if ok else 'FAIL'}: {name}: {actual!r}" + ("" if ok else f" != {expected!r}"))

    with grpc.insecure_channel(sys.argv[1]) as channel:
        reply = dispatch(channel, HOOK_PRE, "MyPrePluginMiddleware")
        check("hook_type", reply[OBJECT_HOOK_TYPE][0], HOOK_PRE)
        check("hook_name", reply[OBJECT_HOOK_NAME][0].decode(), "MyPrePluginMiddleware")
        check("spec", decode_map(reply[OBJECT_SPEC]), {"APIID": "wire-test"})
        request = decode(reply[OBJECT_REQUEST][0])
        check("set_headers", decode_map(request.get(REQUEST_SET_HEADERS, [])), {"X-Plugin": "rust"})
        check("add_params", decode_map(request.get(REQUEST_ADD_PARAMS, [])), {"plugin": "rust"})
        check("headers kept", decode_map(request.get(REQUEST_HEADERS, [])), {"Accept": "*/*"})
        check("method kept", request[REQUEST_METHOD][0].decode(), "GET")

        reply = dispatch(channel, HOOK_CUSTOM_KEY_CHECK, "MyAuthCheck")
        overrides = decode(decode(reply[OBJECT_REQUEST][0])[REQUEST_RETURN_OVERRIDES][0])
        check("response_code", signed(overrides[OVERRIDES_RESPONSE_CODE][0]), 401)
        check("response_error", overrides[OVERRIDES_RESPONSE_ERROR][0].decode(), "missing Authorization header")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
