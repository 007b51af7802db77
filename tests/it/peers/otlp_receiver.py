"""An OTLP trace receiver over gRPC, decoding the export requests by hand from their field
numbers, and answering each with an empty response.

    otlp_receiver.py SECONDS

Prints `listening PORT` once it listens on 127.0.0.1, then one JSON line per span received:
{"trace_id", "span_id", "parent_span_id" (hex), "name", "kind"}. Exits after SECONDS."""

import json
import sys
import time
from concurrent import futures

import grpc

from protowire import decode

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
# ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans, ScopeSpans.spans
RESOURCE_SPANS, SCOPE_SPANS, SPANS = 1, 2, 2
SPAN_TRACE_ID, SPAN_ID, SPAN_PARENT_ID, SPAN_NAME, SPAN_KIND = 1, 2, 4, 5, 6


def export(request: bytes, context) -> bytes:
    for resource in decode(request).get(RESOURCE_SPANS, []):
        for scope in decode(resource).get(SCOPE_SPANS, []):
            for raw in decode(scope).get(SPANS, []):
                span = decode(raw)
                one = lambda number, default: span.get(number, [default])[0]
                line = {
                    "trace_id": one(SPAN_TRACE_ID, b"").hex(),
                    "span_id": one(SPAN_ID, b"").hex(),
                    "parent_span_id": one(SPAN_PARENT_ID, b"").hex(),
                    "name": one(SPAN_NAME, b"").decode(),
                    "kind": one(SPAN_KIND, 0),
                }
                print(json.dumps(line), flush=True)
    return b""  # an empty ExportTraceServiceResponse


def main() -> int:
    seconds = float(sys.argv[1])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(export)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(SERVICE, {"Export": handler})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"listening {port}", flush=True)
    time.sleep(seconds)
    server.stop(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
