"""Schemathesis hooks of scripts/test-api-fuzz.

Authentication: every operation gets `Authorization: Bearer <token>`. By default the token is a
login session of the seeded user (ZTAS_FUZZ_URL, ZTAS_FUZZ_EMAIL, ZTAS_FUZZ_PASSWORD), fetched
by logging in; a 401 (e.g. after the fuzzer called POST /api/auth/logout, which revokes the
session it was sent with) makes Schemathesis log in again and replay the request. With
ZTAS_FUZZ_BEARER set (an API key), that fixed value is sent instead.

Protection: DELETE /api/sites and DELETE /api/import never reach the seeded site and import
(ZTAS_FUZZ_PROTECT: their ids, comma-separated): Schemathesis feeds ids seen in earlier answers
to later requests, and deleting the seed would leave every later query an `Access denied`.
Such a request is sent with the id replaced by an unknown one (404); the deletes are fuzzed on
the sites and imports the fuzzer creates itself.

Serialization: NDJSON request bodies (POST /api/import) are sent as generated text.
"""
import json
import os
import urllib.request

import schemathesis


@schemathesis.auth(refresh_interval=3600)
class SeededUser:
    def get(self, case, context):
        fixed = os.environ.get("ZTAS_FUZZ_BEARER")
        if fixed:
            return fixed
        body = json.dumps({"email": os.environ["ZTAS_FUZZ_EMAIL"], "password": os.environ["ZTAS_FUZZ_PASSWORD"]}).encode()
        req = urllib.request.Request(os.environ["ZTAS_FUZZ_URL"] + "/api/auth/login", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            answer = json.loads(r.read())
        if "token" not in answer:
            raise RuntimeError(f"fuzz user cannot log in: {answer}")
        return answer["token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


PROTECTED = {v for v in os.environ.get("ZTAS_FUZZ_PROTECT", "").split(",") if v}


@schemathesis.hook
def before_call(context, case, **kwargs):
    if case.method.upper() != "DELETE" or not isinstance(case.query, dict):
        return
    for name in ("id", "importId"):
        if case.query.get(name) in PROTECTED:
            case.query[name] = "protected_seed"


@schemathesis.serializer("application/x-ndjson", "application/ndjson")
def ndjson(context, value):
    if isinstance(value, bytes):
        return {"data": value}
    if isinstance(value, str):
        return {"data": value.encode("utf-8", "surrogatepass")}
    return {"data": json.dumps(value).encode()}
