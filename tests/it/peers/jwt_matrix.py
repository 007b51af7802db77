"""The token matrix of the JWT kinds, from a Python client of the kind their users have: PyJWT
mints the tokens (with `cryptography` for RS256), grpcio sends them, and the messages are encoded
by hand from the wire contracts' field numbers.

usage:
  jwt_matrix.py keys DIR                      write the keys that the servers and cases use
  jwt_matrix.py extension ADDRESS DIR CASE...
  jwt_matrix.py streaming ADDRESS DIR CASE...

For each case it prints one line, `CASE<TAB>CODE<TAB>MESSAGE`: the status code's name and its
details, or `OK` and, for a stream, its first message. The test that runs it holds the
expectations.
"""

import base64
import hashlib
import hmac
import json
import sys
import time
from pathlib import Path

import grpc
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from protowire import decode, field

# The streaming seed's secret: 13 bytes, below RFC 7518's 32.
SEED_SECRET = "my_secret_key"
# HS256 secrets of the streaming server's JWKS, by kid, the first of which signs.
SECRETS = {"current": "the current secret, of at least 32 bytes", "previous": "the previous secret, rotated out soon"}
LONG = "A" * 10_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write_keys(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    jwks = []
    for name, bits in [("current", 2048), ("previous", 2048), ("other", 2048), ("small", 1024)]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (out / f"{name}.key").write_bytes(private)
        (out / f"{name}.pem").write_bytes(public)
        if name in ("current", "previous"):
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            jwks.append({**jwk, "kid": name, "use": "sig", "alg": "RS256"})
    (out / "rsa.jwks.json").write_text(json.dumps({"keys": jwks}))
    octets = [{"kty": "oct", "kid": kid, "k": b64(secret.encode())} for kid, secret in SECRETS.items()]
    (out / "hs256.jwks.json").write_text(json.dumps({"keys": octets}))


def unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A token put together by hand, for headers that PyJWT will not write."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(signature)


def hs256_with(secret: bytes, header: dict, claims: dict) -> str:
    """HS256 over any bytes, the PEM of a public key among them, which PyJWT refuses to use."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


def extension_tokens(keys: Path) -> dict:
    def rs256(claims, kid="current", key="current"):
        private = (keys / f"{key}.key").read_bytes()
        return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid} if kid else None)

    now = time.time()
    good = {"client_id": 7, "type": "access", "scopes": ["client_super"], "exp": now + 600}
    public = (keys / "current.pem").read_bytes()
    return {
        "valid": rs256(good),
        "float exp": rs256({**good, "exp": now + 60.5}),
        "rotated key": rs256(good, kid="previous", key="previous"),
        "expired": rs256({**good, "exp": now - 3600}),
        "not yet valid": rs256({**good, "nbf": now + 3600}),
        "alg none": unsigned({"alg": "none", "typ": "JWT"}, good),
        "HS256 with the public key": hs256_with(public, {"alg": "HS256", "typ": "JWT", "kid": "current"}, good),
        "wrong key": rs256(good, key="other"),
        "wrong kid": rs256(good, kid="retired"),
        "no kid": rs256(good, kid=None),
        "aud not expected": rs256({**good, "aud": "another-service"}),
        "valid with iss and aud": rs256({**good, "iss": "platform", "aud": "extensions"}),
        "unknown kid, default key": rs256({**good, "iss": "platform", "aud": "extensions"}, kid="retired"),
        "wrong aud": rs256({**good, "iss": "platform", "aud": "another-service"}),
        "wrong issuer": rs256({**good, "iss": "someone-else", "aud": "extensions"}),
        "wrong client id": rs256({**good, "client_id": 9}),
        "missing scope": rs256({**good, "scopes": ["read"]}),
        "garbage": "not-a-jwt",
        "empty": "",
        "oversized alg": unsigned({"alg": LONG, "typ": "JWT"}, good, b"x"),
        "oversized type": rs256({**good, "type": LONG}),
        "oversized action": rs256(good),
    }


def report(case: str, call) -> None:
    """Print `case`'s line: `OK` and what `call` returns, or the status it fails with."""
    try:
        print(f"{case}\tOK\t{call()}")
    except grpc.RpcError as error:
        print(f"{case}\t{error.code().name}\t{error.details()}")


def run_extension(address: str, keys: Path, cases: list) -> None:
    tokens = extension_tokens(keys)
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(
            "/protos.DataExtension/ExtensionData",
            request_serializer=lambda request: request,
            response_deserializer=lambda reply: reply,
        )
        for case in cases:
            # protos.ExtensionRequest: data 1, indicators 2, action 3, config_json 4, token 5.
            action = LONG if case == "oversized action" else "process"
            request = field(1, '{"id": 1}') + field(3, action) + field(4, "{}") + field(5, tokens[case])
            report(case, lambda: call(request, timeout=10).hex())


def streaming_tokens(keys: Path) -> dict:
    def hs256(claims, kid="current", secret=None):
        secret = secret or SECRETS[kid if kid in SECRETS else "current"]
        return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid} if kid else None)

    now = time.time()
    good = {"user_id": "Alice", "exp": now + 60}
    rs256 = jwt.encode(good, (keys / "current.key").read_bytes(), algorithm="RS256")
    return {
        # As the seed's client mints it: the 13-byte secret, a float `exp`, sent raw.
        "seed client": jwt.encode({"user_id": "Alice", "exp": time.time() + 60}, SEED_SECRET, algorithm="HS256"),
        "valid": "Bearer " + hs256(good),
        "lowercase bearer": "bearer " + hs256(good),
        "rotated key": hs256(good, kid="previous"),
        "expired": hs256({**good, "exp": now - 3600}),
        "not yet valid": hs256({**good, "nbf": now + 3600}),
        "alg none": unsigned({"alg": "none", "typ": "JWT"}, good),
        "RS256": rs256,
        "wrong key": hs256(good, secret="a wrong secret that is long enough, too"),
        "wrong kid": hs256(good, kid="retired"),
        "aud not expected": hs256({**good, "aud": "another-service"}),
        "valid with iss and aud": hs256({**good, "iss": "platform", "aud": "streams"}),
        "wrong aud": hs256({**good, "iss": "platform", "aud": "another-service"}),
        "wrong issuer": hs256({**good, "iss": "someone-else", "aud": "streams"}),
        "no user_id": hs256({"exp": now + 60}),
        "another user": hs256(good),
        "garbage": "not-a-jwt",
        "empty": "",
        "missing": None,
        "oversized alg": unsigned({"alg": LONG, "typ": "JWT"}, good, b"x"),
        "oversized user_id": hs256(good),
    }


def run_streaming(address: str, keys: Path, cases: list) -> None:
    tokens = streaming_tokens(keys)
    with grpc.insecure_channel(address) as channel:
        stream = channel.unary_stream(
            "/streaming.StreamingService/StreamData",
            request_serializer=lambda user_id: field(1, user_id),
            response_deserializer=lambda reply: decode(reply)[1][0].decode(),
        )
        for case in cases:
            user = {"another user": "Bob", "oversized user_id": LONG}.get(case, "Alice")
            token = tokens[case]
            metadata = None if token is None else [("authorization", token)]
            report(case, lambda: next(iter(stream(user, metadata=metadata, timeout=10))))


def main() -> int:
    command, *args = sys.argv[1:]
    if command == "keys":
        write_keys(Path(args[0]))
    elif command == "extension":
        run_extension(args[0], Path(args[1]), args[2:])
    elif command == "streaming":
        run_streaming(args[0], Path(args[1]), args[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
