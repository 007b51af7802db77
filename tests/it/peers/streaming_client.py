"""A Python client for streaming.StreamingService, written the way existing Python clients of
this API are: PyJWT mints an HS256 token (with a fractional `exp`, as
`time.time() + 60` gives), sent raw in the `authorization` metadata, through grpcio.

It uses no generated code: the request and replies are encoded by hand from the field numbers
of the wire contract, so it checks the wire format independently of our .proto files.

usage: streaming_client.py ADDRESS SECRET USER...
"""

import sys
import time

import grpc
import jwt

METHOD = "/streaming.StreamingService/StreamData"


def encode_request(user_id: str) -> bytes:
    # StreamRequest.user_id: field 1, wire type 2 (length-delimited).
    data = user_id.encode()
    assert len(data) < 128
    return bytes([0x0A, len(data)]) + data


def decode_reply(payload: bytes) -> str:
    # StreamResponse.message: field 1, wire type 2.
    assert payload[0] == 0x0A, payload
    length, offset = 0, 1
    shift = 0
    while True:
        byte = payload[offset]
        length |= (byte & 0x7F) << shift
        offset += 1
        shift += 7
        if byte < 0x80:
            break
    return payload[offset : offset + length].decode()


def main() -> int:
    address, secret, *users = sys.argv[1:]
    failed = False
    with grpc.insecure_channel(address) as channel:
        stream_data = channel.unary_stream(
            METHOD, request_serializer=encode_request, response_deserializer=decode_reply
        )
        for user in users:
            token = jwt.encode({"user_id": user, "exp": time.time() + 60}, secret, algorithm="HS256")
            try:
                print(f"Streaming data for {user}:")
                for message in stream_data(user, metadata=[("authorization", token)]):
                    print(message)
            except grpc.RpcError as error:
                print(f"Error: {error.details()} (Code: {error.code()})")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
