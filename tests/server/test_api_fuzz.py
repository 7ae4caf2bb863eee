"""Schemathesis against a live studio (issue #19): every operation of /openapi.json gets generated
requests, valid and invalid, and none may be answered 5xx.

The studio runs as `studio serve` in a subprocess (tests/support/serve_offline.py): a real aiohttp
server on 127.0.0.1 with a random port, a temporary STUDIO_HOME, no keyring, no network beyond
loopback, and the admin API key of its first start. Schemathesis' engine (what its CLI runs: the
examples, coverage and fuzzing phases) drives it with a small, derandomized number of examples per
operation, so a run is reproducible and takes a few minutes on two cores. (Its pytest plugin's
`from_fixture` loader does not run under pytest 9, hence the engine.)

Checks: no 5xx (`not_a_server_error`), every status documented for its operation
(`status_code_conformance`), every body valid against the schema documented for that status
(`response_schema_conformance`), content types and headers as documented, `Allow` on OPTIONS as
documented, 405 for methods a path does not serve, 401 without credentials. The same contract is
checked on every response the rest of the suite sees (tests/support/contract.py); this test adds the
requests nobody wrote by hand.

FUZZ_EXAMPLES=50 FUZZ_CHECKS=not_a_server_error,status_code_conformance make test PYTEST_ARGS=tests/server/test_api_fuzz.py
digs deeper, or tries another check, locally.
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis

from tests.support.processes import StudioProcess

pytestmark = pytest.mark.slow

# examples per operation and phase; derandomized with a fixed seed, so CI sends the same requests every run
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
CHECKS = os.environ.get("FUZZ_CHECKS", "not_a_server_error,status_code_conformance,response_schema_conformance,"
                        "content_type_conformance,response_headers_conformance,allow_header_conformance,"
                        "unsupported_method,missing_required_header,ignored_auth").split(",")


@pytest.fixture(scope="module")
def live_studio(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz") / "home"
    process = StudioProcess(["-m", "tests.support.serve_offline"], home,
                            env={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    try:
        base = process.base_url()
        key = process.wait_for(r"API key:\s+(\S+)").group(1)
        yield base, key
    finally:
        process.stop()


def _config(key: str):
    from hypothesis import HealthCheck

    return schemathesis.config.SchemathesisConfig.from_dict({
        "seed": 19,
        "suppress-health-check": [HealthCheck.too_slow.name, HealthCheck.filter_too_much.name,
                                  HealthCheck.data_too_large.name, HealthCheck.large_base_example.name],
        "headers": {"Authorization": f"Bearer {key}"},
        "request-timeout": 30,
        "workers": 1,
        "continue-on-failure": True,  # one operation's failure does not stop its other examples
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    })


@pytest.mark.timeout(900)  # ~3 minutes on two cores; the suite's 300 s would be tight on a slower runner
def test_every_operation_keeps_its_documented_contract(live_studio):
    from schemathesis.engine import events, from_schema

    base, key = live_studio
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", config=_config(key))
    schema.config.update(base_url=base)
    schema = schema.exclude(path="/ws")  # the WebSocket: not an operation a generated request can exercise

    started = time.monotonic()
    operations, requests, failures, errors = set(), 0, {}, []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            operations.add(event.recorder.label)
            requests += len(event.recorder.interactions)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        interaction = event.recorder.interactions.get(case_id)
                        status = interaction.response.status_code if interaction and interaction.response else None
                        failures.setdefault((event.recorder.label, check.name), (status, check.failure_info.code_sample))
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            errors.append(f"{getattr(event, 'label', '')}: {getattr(event, 'value', event)!r}")
    print(f"schemathesis: {len(operations)} operations, {requests} requests, {time.monotonic() - started:.0f} s")
    report = "\n\n".join(f"{label} [{name}] -> {status}\n{sample}"
                         for (label, name), (status, sample) in sorted(failures.items()))
    assert not failures, f"{len(failures)} failing operation(s):\n\n{report}"
    assert not errors, "\n".join(errors)
    assert len(operations) > 150  # the run covered the API, not a fraction of it
