"""``leadbook serve``: what xlwings Server registers, the manifest and task pane it serves,
how it starts (licence, certificates), and a real HTTPS server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import inspect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from leadbook.cli import app
from leadbook.errors import LeadbookError
from tests.udfs.officejs import function_call
from udfs import edge, functions, server, signin

EXCEL_NAMES = {
    "BLENDED_CPL", "BLENDED_CONVERSION", "BLENDED_CPA", "PORTFOLIO", "TIER", "LEADTYPE",
    "RISKCLASS", "CLASSES", "SCORES", "ALLOCATE", "EXPLAIN", "ROI", "NPV_COHORT", "PAYBACK",
    "FORECAST", "REPS_NEEDED", "HIRING_PLAN", "LEAD_SCORE", "EXPECTED_ROI", "LEAD_PRICE",
    "BREAKEVEN_P", "CLASSIFIER_METRICS", "KPI", "BUDGET_CURVE",
}  # fmt: skip
SCRIPTS = {
    "refresh", "check_inputs", "rebalance", "accept_plan", "compare_scenarios",
    "refresh_forecast", "plan_hiring", "score_leads",
    "export_board_pack", "undo", "score_leads_retrain",
}  # fmt: skip
LEADBOOK = str(Path(sys.executable).with_name("leadbook"))


class TestRegistration:
    def test_every_function_is_served_under_the_lb_namespace(self, client):
        meta = client.get("/xlwings/custom-functions-meta").json()["functions"]
        assert {f["name"] for f in meta} == EXCEL_NAMES
        manifest = client.get("/manifest.xml").text
        assert re.search(r'id="Functions.Namespace" DefaultValue="LB"', manifest)

    def test_descriptions_are_one_paragraph_that_excel_keeps_whole(self, client):
        for f in client.get("/xlwings/custom-functions-meta").json()["functions"]:
            assert "\n" not in f["description"] and "  " not in f["description"], f["id"]
            assert 20 < len(f["description"]) <= 255, f["id"]  # the classic add-in's limit
            for p in f["parameters"]:
                assert "\n" not in p["description"] and len(p["description"]) <= 255

    def test_every_function_and_argument_has_help_text(self, client):
        for f in client.get("/xlwings/custom-functions-meta").json()["functions"]:
            assert f["description"] == getattr(functions, f["id"]).__doc__
            for p in f["parameters"]:
                assert not p["description"].startswith("Positional argument"), (f["id"], p)
                assert len(p["description"]) > 10

    def test_functions_run_off_the_event_loop(self, client):
        import custom_functions
        import custom_scripts

        for name in functions.__all__:
            assert inspect.iscoroutinefunction(getattr(custom_functions, name)), name
        for name in SCRIPTS:
            assert inspect.iscoroutinefunction(getattr(custom_scripts, name).__wrapped__), name

    def test_the_scripts_are_served(self, client):
        meta = client.get("/xlwings/custom-scripts-meta").json()
        assert {s["function_name"] for s in meta} == SCRIPTS

    def test_the_task_pane_has_a_button_per_script(self, client):
        """leadbook's buttons (lb-click), whose press adds the workbook's formulas to xlwings'
        request; none of xlwings' own (xw-click), which would send values alone."""
        page = client.get("/taskpane.html")
        assert page.status_code == 200
        assert set(re.findall(r'lb-click="(\w+)"', page.text)) == SCRIPTS
        assert "xw-click" not in page.text
        assert "/js/buttons.js" in page.text
        script = client.get("/static/js/buttons.js")
        assert script.status_code == 200 and "xlwings.runPython(" in script.text

    def test_the_manifest_names_leadbooks_add_in_and_its_urls(self, client):
        manifest = client.get("/manifest.xml").text
        assert f"<Id>{server.MANIFEST_ID}</Id>" in manifest
        assert "http://testserver/taskpane.html" in manifest
        assert "http://testserver/xlwings/custom-functions-meta.json" in manifest


def test_compute_processes_give_the_threads_answer(client, monkeypatch):
    table = [
        ["Source", "Party", "Monthly leads", "CPL", "Conversion", "Current spend"],
        ["A", "third-party", 100, 50, 0.1, 5000],
        ["B", "first-party", 300, 30, 0.2, 9000],
    ]
    body = function_call("LB_BLENDED_CPL", table)
    in_thread = client.post("/xlwings/custom-functions-call", json=body).json()
    monkeypatch.setenv(server.WORKERS_ENV, "2")
    in_processes = client.post("/xlwings/custom-functions-call", json=body).json()
    assert in_processes == in_thread == {"result": [[35.0]]}
    assert server.compute_pool(2).pids()  # the call went to a spawned process


def getenv(pool, variable):
    return pool.call("os:getenv", (variable,), {}, deadline=time.monotonic() + 60)


class TestComputeProcesses:
    def test_use_one_blas_thread_each(self, monkeypatch):
        for variable in server.BLAS_THREADS:
            monkeypatch.delenv(variable, raising=False)
        pool = server.compute_pool.__wrapped__(1)
        try:
            seen = [getenv(pool, v) for v in server.BLAS_THREADS]
        finally:
            pool.close()
        assert seen == ["1", "1", "1"]

    def test_a_blas_thread_count_set_by_the_user_wins(self, monkeypatch):
        for variable in server.BLAS_THREADS:
            monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
        pool = server.compute_pool.__wrapped__(1)
        try:
            seen = getenv(pool, "OPENBLAS_NUM_THREADS")
        finally:
            pool.close()
        assert seen == "2"

    @pytest.mark.parametrize("module", server.WARM_MODULES)
    def test_warm_up_imports_modules_that_exist(self, module):
        assert importlib.import_module(module).__name__ == module


class TestPlan:
    def test_needs_a_licence_key(self, monkeypatch, tmp_path):
        monkeypatch.delenv("XLWINGS_LICENSE_KEY")
        with pytest.raises(LeadbookError, match=r"needs a licence key in .*XLWINGS_LICENSE_KEY"):
            server.plan("127.0.0.1", 8000, 1, tmp_path)

    def test_https_when_certificates_are_found(self, tmp_path):
        assert server.plan("127.0.0.1", 8000, 1, tmp_path).url == "http://127.0.0.1:8000"
        (tmp_path / "localhost+2.pem").write_text("cert")
        (tmp_path / "localhost+2-key.pem").write_text("key")
        plan = server.plan("127.0.0.1", 8443, 2, tmp_path)
        assert (plan.url, plan.manifest) == (
            "https://127.0.0.1:8443",
            "https://127.0.0.1:8443/manifest.xml",
        )
        assert plan.keyfile == tmp_path / "localhost+2-key.pem"

    @pytest.mark.parametrize("limit", ["abc", "nan", "inf", "-1", "0"])
    def test_a_bad_time_limit_stops_the_start(self, monkeypatch, tmp_path, limit):
        monkeypatch.setenv(server.CALL_SECONDS_ENV, limit)
        with pytest.raises(LeadbookError, match="LEADBOOK_CALL_SECONDS must be"):
            server.plan("127.0.0.1", 8000, 1, tmp_path)

    def test_workers_cannot_be_negative(self, tmp_path):
        with pytest.raises(
            LeadbookError, match=r"--workers must be 0 \(compute in a thread\) or more, got -1"
        ):
            server.plan("127.0.0.1", 8000, -1, tmp_path)

    def test_the_command_says_what_is_missing(self, monkeypatch, tmp_path):
        monkeypatch.delenv("XLWINGS_LICENSE_KEY")
        result = CliRunner().invoke(app, ["serve", "--certs", str(tmp_path)])
        assert result.exit_code == 2
        assert "noncommercial" in result.output and "XLWINGS_LICENSE_KEY" in result.output

    def test_the_command_reports_where_it_serves(self, monkeypatch, tmp_path):
        started = []
        monkeypatch.setattr(server, "serve", started.append)
        result = CliRunner().invoke(
            app, ["serve", "--port", "8123", "--workers", "3", "--certs", str(tmp_path), "--json"]
        )
        assert result.exit_code == 0, result.output
        assert '"manifest": "http://127.0.0.1:8123/manifest.xml"' in result.output
        assert [p.workers for p in started] == [3]


def test_configure_refuses_when_xlwings_came_first():
    code = "import xlwings; from udfs.server import configure; configure({})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert "xlwings was imported before leadbook configured xlwings Server" in done.stderr


@pytest.mark.slow
def test_serves_https_on_localhost(tmp_path):
    """The real thing: ``leadbook serve`` with a certificate, asked over HTTPS."""
    self_signed(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS_")}
    env["XLWINGS_LICENSE_KEY"] = "noncommercial"
    proc = subprocess.Popen(
        [LEADBOOK, "serve", "--port", str(port), "--certs", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"https://127.0.0.1:{port}"
        wait_until_up(f"{base}/", proc)
        manifest = httpx.get(f"{base}/manifest.xml", verify=False).text
        assert f"{base}/taskpane.html" in manifest
        meta = httpx.get(f"{base}/xlwings/custom-functions-meta", verify=False).json()
        assert {f["name"] for f in meta["functions"]} == EXCEL_NAMES
        tier = function_call("LB_TIER", [[30]], [["active"]], [[4.6]])
        url = f"{base}/xlwings/custom-functions-call"
        anonymous = httpx.post(url, json=tier, verify=False)
        assert anonymous.status_code == 401  # sign-in is on as shipped
        signed_in = {"Authorization": env["LEADBOOK_TOKEN"]}
        # computed in a spawned process, which may still be importing its modules (several
        # seconds on a busy machine): httpx's 5 s default is not what this test checks
        answer = httpx.post(url, json=tier, headers=signed_in, verify=False, timeout=60)
        assert answer.json() == {"result": [["Tier 1"]]}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read().decode() if proc.stdout else "exited")
        try:
            if httpx.get(url, verify=False).json() == {"status": "ok"}:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def self_signed(folder: Path) -> None:
    """A self-signed certificate for 127.0.0.1 under mkcert's file names."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (folder / "localhost+2.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "localhost+2-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


class TestEdge:
    """What leadbook does to a call's bytes before xlwings Server parses them."""

    def test_a_long_blank_run_that_ends_a_range_is_cut_to_one_row(self):
        body = b'{"args":[[[1]' + b",[null]" * 5000 + b"],[[2]]]}"
        assert edge._trim_blank_rows(body) == b'{"args":[[[1],[null]],[[2]]]}'

    def test_short_runs_and_runs_inside_a_range_stay(self):
        short = b'{"args":[[[1]' + b",[null]" * 10 + b"]]}"
        inside = b'{"args":[[[1]' + b",[null]" * 5000 + b",[2]]]}"
        text = b'{"args":[[["Web,[null],[null]]"]]]}'
        for body in (short, inside, text):
            assert edge._trim_blank_rows(body) == body

    def test_the_cut_answers_as_the_whole_range(self, client):
        flows = [[-1000], [200], [250], [300], [300], [300]]
        whole = function_call("LB_PAYBACK", flows + [[None]] * 100_000)
        trimmed = function_call("LB_PAYBACK", flows)
        answers = [
            client.post("/xlwings/custom-functions-call", json=b).json() for b in (whole, trimmed)
        ]
        assert answers[0] == answers[1] == {"result": [[5]]}


CALL, SCRIPT = "/xlwings/custom-functions-call", "/xlwings/custom-scripts-call/"


class TestRequestsTheAddInCouldNotHaveSent:
    """Refused at the edge with a 4xx and a message; xlwings Server never sees them."""

    def post(self, client, path: str, body: bytes, **headers: str):
        headers = {"content-type": "application/json", **headers}
        return client.post(path, content=body, headers=headers)

    @pytest.mark.parametrize(
        ("path", "body", "status", "says"),
        [
            (CALL, b'{"func_name":"LB_TIER","args":[', 400, "not valid JSON"),
            (CALL, b'{"args":[]}', 400, "a JSON object with func_name, args"),
            (CALL, b"[1, 2]", 400, "a JSON object with func_name, args"),
            (SCRIPT + "refresh", b'{"book": {"name"', 400, "not valid JSON"),
            (SCRIPT + "refresh", b"[]", 400, "must be a JSON object"),
            (SCRIPT + "nope", b"{}", 404, "no button script 'nope'"),
            (SCRIPT + "__init__", b"{}", 404, "no button script '__init__'"),
            (CALL, b"[" * 100_000 + b"]" * 100_000, 400, "not valid JSON"),
            (SCRIPT + "refresh", b"[" * 100_000 + b"]" * 100_000, 400, "not valid JSON"),
            (
                CALL,
                json.dumps({k: v for k, v in function_call("LB_TIER").items() if k != "runtime"}),
                400,
                "func_name, args, version, client, runtime",
            ),
        ],
        ids=[
            "truncated call",
            "no func_name",
            "a list",
            "truncated script",
            "script list",
            "unknown script",
            "dunder script",
            "deep call",
            "deep script",
            "no runtime",
        ],
    )
    def test_malformed_bodies(self, client, path, body, status, says):
        answer = self.post(client, path, body)
        assert (answer.status_code, says in answer.text) == (status, True), answer.text

    @pytest.mark.parametrize("name", ["nope", "__class__", "configure", "compute"])
    def test_a_function_leadbook_does_not_serve(self, client, name):
        body = function_call("LB_TIER", 24) | {"func_name": name}
        answer = client.post(CALL, json=body)
        assert answer.status_code == 404 and f"no function {name!r}" in answer.text

    def test_a_wrong_number_of_arguments_names_the_function_and_what_it_takes(self, client):
        answer = client.post(CALL, json=function_call("LB_TIER", 24))
        assert answer.status_code == 400
        assert "LB.TIER takes 6 arguments (months, status" in answer.text
        assert "Excel sent 1" in answer.text and "internal error" not in answer.text

    def test_a_large_call_naming_a_second_function_is_refused(self, client):
        body = function_call("LB_FORECAST", [[1.0]] * 40_000, 6, 0.8)
        text = json.dumps(body)[:-1] + ', "func_name": "LB_SOMETHING_ELSE"}'
        assert len(text) > edge.LARGE_BODY
        answer = self.post(client, CALL, text.encode())
        assert answer.status_code == 400 and "more than one function" in answer.text

    @pytest.mark.xfail(
        strict=True,
        reason="a call past LARGE_BODY is checked on its bytes, not parsed: a func_name key "
        "written with a JSON escape (func\\u005fname), or the members xlwings reads present "
        "only inside args, pass the edge and reach xlwings Server, which answers 500",
    )
    @pytest.mark.parametrize("trick", ["escaped second func_name", "members only nested"])
    def test_a_large_call_is_checked_as_json_reads_it(self, client, trick):
        body = function_call("LB_FORECAST", [[1.0]] * 40_000, 6, 0.8)
        if trick == "escaped second func_name":
            text = json.dumps(body)[:-1] + ', "func\\u005fname": "nope"}'
        else:
            nested = {k: body.pop(k) for k in ("version", "client", "runtime", "date_format")}
            body["args"].append(nested)
            text = json.dumps(body)
        assert len(text) > edge.LARGE_BODY
        answer = self.post(client, CALL, text.encode())
        assert 400 <= answer.status_code < 500, answer.text

    def test_a_caller_without_a_token_is_refused_before_its_body_is_read(self):
        import asyncio

        answered = []

        async def receive():
            raise AssertionError("the body of an unsigned caller was read")

        async def send(message):
            answered.append(message)

        async def inner(scope, receive, send):
            raise AssertionError("xlwings Server saw an unsigned caller")

        scope = {
            "type": "http",
            "method": "POST",
            "path": CALL,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"30000000")],
        }
        asyncio.run(edge.Edge(inner)(scope, receive, send))
        assert answered[0]["status"] == 401
        assert b"needs your sign-in token" in answered[1]["body"]

    def test_a_cross_site_simple_request_runs_nothing(self, client, monkeypatch):
        ran = []
        monkeypatch.setattr(edge, "_check_script", lambda *a: ran.append(a))
        answer = self.post(client, SCRIPT + "refresh", b"{}", **{"content-type": "text/plain"})
        assert answer.status_code == 415 and "takes JSON" in answer.text and not ran

    def test_a_page_of_another_origin_is_refused(self, client):
        body = function_call("LB_PAYBACK", [[-100], [60], [60]])
        other = client.post(CALL, json=body, headers={"origin": "https://evil.example"})
        assert other.status_code == 403 and "https://evil.example" in other.text
        own = client.post(CALL, json=body, headers={"origin": "http://testserver"})
        assert own.status_code == 200 and own.json() == client.post(CALL, json=body).json()

    def test_a_body_past_the_limit_is_refused_unread(self, client, monkeypatch):
        monkeypatch.setenv(edge.MAX_BODY_ENV, "0.01")  # 10 KB
        body = function_call("LB_PAYBACK", [[-100]] + [[1.5]] * 5_000)
        answer = client.post(CALL, json=body)
        assert answer.status_code == 413
        assert "more than the 0.01 MB this server takes (LEADBOOK_MAX_REQUEST_MB)" in answer.text

    def test_a_streamed_body_past_the_limit_is_cut_off(self, client, monkeypatch):
        monkeypatch.setenv(edge.MAX_BODY_ENV, "0.01")
        chunks = (b'{"func_name":"LB_PAYBACK","args":[[' + b"[1]," * 1000 for _ in range(5))
        answer = client.post(CALL, content=chunks, headers={"content-type": "application/json"})
        assert answer.status_code == 413

    def test_a_bad_limit_stops_the_start(self, monkeypatch, tmp_path):
        monkeypatch.setenv(edge.MAX_BODY_ENV, "lots")
        monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
        with pytest.raises(LeadbookError, match="LEADBOOK_MAX_REQUEST_MB must be a number"):
            server.plan("127.0.0.1", 8000, 0, tmp_path)


class TestSignIn:
    """Sign-in is on as shipped: a token the server knows, never one the workbook carries."""

    def test_a_call_without_a_token_is_refused_with_what_to_do(self, client):
        body = function_call("LB_PAYBACK", [[-100], [60], [60]])
        for header, says in (("", "needs your sign-in token"), ("x" * 40, "not one this")):
            answer = client.post(CALL, json=body, headers={"Authorization": header})
            assert answer.status_code == 401 and says in answer.text, answer.text
        assert client.post(CALL, json=body).status_code == 200  # the suite's shared token

    def test_a_button_without_a_token_runs_nothing(self, client, demo_book_path, monkeypatch):
        from tests.udfs.officejs import book_payload

        ran = []
        monkeypatch.setattr("leadbook.workbook.jobs.refresh.refresh", lambda *a, **k: ran.append(a))
        answer = client.post(
            SCRIPT + "refresh", json=book_payload(demo_book_path), headers={"Authorization": ""}
        )
        assert answer.status_code == 401 and not ran

    def test_each_user_of_a_tokens_file_keeps_files_in_their_own_folder(
        self, client, demo_book_path, tmp_path, monkeypatch
    ):
        from tests.udfs.officejs import book_payload

        ana, bo = "a" * 30, "b" * 30
        listed = tmp_path / "tokens"
        listed.write_text(f"# who, token\nana {ana}\nbo  {bo}  # finance\n")
        monkeypatch.setenv(signin.TOKENS_FILE_ENV, str(listed))
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        for token in (ana, bo):
            payload = book_payload(demo_book_path)
            answer = client.post(
                SCRIPT + "export_board_pack", json=payload, headers={"Authorization": token}
            )
            assert answer.status_code == 200, answer.text
        users = sorted(p.name for p in (tmp_path / "files").iterdir())
        assert users == sorted(
            "user-" + hashlib.sha256(u.encode()).hexdigest()[:16] for u in ("ana", "bo")
        )

    def test_an_empty_provider_list_is_no_sign_in_and_stays_on_this_machine(
        self, tmp_path, monkeypatch
    ):
        monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
        monkeypatch.setenv("XLWINGS_AUTH_PROVIDERS", "[]")
        with pytest.raises(LeadbookError, match="lists no sign-in provider"):
            server.plan("0.0.0.0", 8000, 0, tmp_path)
        assert server.plan("127.0.0.1", 8000, 0, tmp_path).sign_in == ""
        monkeypatch.setenv("XLWINGS_AUTH_PROVIDERS", "entraid")
        with pytest.raises(LeadbookError, match="must be a JSON list"):
            server.plan("127.0.0.1", 8000, 0, tmp_path)

    def test_the_server_writes_its_files_for_itself_alone(self, tmp_path, monkeypatch):
        import uvicorn

        from leadbook.files import replacing

        written = []

        def run(app, **kwargs):
            with replacing(tmp_path / "pack.csv") as tmp:
                tmp.write_bytes(b"source,spend")
            written.append(os.stat(tmp_path / "pack.csv").st_mode & 0o777)

        monkeypatch.setattr(uvicorn, "run", run)
        kept = os.umask(0o022)
        try:
            server.serve(server.ServerPlan("127.0.0.1", 8000, 0, None, None))
        finally:
            os.umask(kept)
        assert written == [0o600]

    def test_without_sign_in_a_rebound_host_name_is_refused(self, client, monkeypatch):
        monkeypatch.setenv("XLWINGS_AUTH_PROVIDERS", "[]")
        rebound = client.get("/taskpane.html", headers={"Host": "evil.example:8000"})
        assert rebound.status_code == 421
        body = function_call("LB_PAYBACK", [[-100], [60], [60]])
        for host in ("evil.example:8000", "127.0.0.1.evil.example"):
            answer = client.post(
                CALL, json=body, headers={"Host": host, "Origin": f"http://{host}"}
            )
            assert answer.status_code == 421, host
        assert client.post(CALL, json=body, headers={"Host": "localhost:8000"}).status_code == 200

    @pytest.mark.parametrize("kept", ["", "short\n", "two words-of-a-token-long-enough\n"])
    def test_a_spoilt_kept_token_stops_the_start(self, kept, tmp_path, monkeypatch):
        monkeypatch.delenv(signin.TOKEN_ENV)
        monkeypatch.delenv(signin.TOKENS_FILE_ENV, raising=False)
        (tmp_path / "server-token").write_text(kept)
        with pytest.raises(LeadbookError, match="delete it"):
            signin.ensure_token(tmp_path)

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("ana short\n", "line 1: ana's token must be at least 24"),
            (f"ana {'a' * 30}\nbo {'a' * 30}\n", "line 2: bo's token is also ana's"),
            (f"ana {'a' * 30} extra\n", "line 1: expected 'user token', got 3"),
            (f"shared {'a' * 30}\n", "the name 'shared' is kept"),
        ],
    )
    def test_a_bad_tokens_file_stops_the_start_naming_the_line(self, text, says, tmp_path):
        listed = tmp_path / "tokens"
        listed.write_text(text)
        with pytest.raises(LeadbookError, match=re.escape(says)):
            signin.tokens({signin.TOKENS_FILE_ENV: str(listed)})

    def test_with_no_token_set_one_is_made_kept_private_and_reused(self, tmp_path, monkeypatch):
        monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
        monkeypatch.delenv(signin.TOKEN_ENV)
        monkeypatch.delenv(signin.TOKENS_FILE_ENV, raising=False)
        monkeypatch.setenv("LEADBOOK_FILES", str(tmp_path / "files"))
        first = server.plan("127.0.0.1", 8000, 0, tmp_path)
        kept = tmp_path / "files" / "server-token"
        assert first.token and len(first.token) >= signin.MIN_TOKEN
        assert kept.stat().st_mode & 0o777 == 0o600
        monkeypatch.delenv(signin.TOKEN_ENV)
        assert server.plan("127.0.0.1", 8000, 0, tmp_path).token == first.token
        assert signin.signed_in_user(first.token) == signin.SHARED_USER

    def test_no_auth_only_on_this_machine(self, tmp_path, monkeypatch):
        monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
        monkeypatch.setenv("XLWINGS_AUTH_PROVIDERS", '["leadbook"]')
        with pytest.raises(LeadbookError, match=r"allowed on 127\.0\.0\.1 only"):
            server.plan("0.0.0.0", 8000, 0, tmp_path, auth=False)
        assert server.plan("127.0.0.1", 8000, 0, tmp_path, auth=False).sign_in == ""

    def test_the_operators_provider_is_kept(self, tmp_path, monkeypatch):
        monkeypatch.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
        monkeypatch.setenv("XLWINGS_AUTH_PROVIDERS", '["entraid"]')
        found = server.plan("0.0.0.0", 8000, 0, tmp_path)
        assert (found.sign_in, found.token) == ('["entraid"]', None)

    def test_the_task_pane_asks_for_the_token_and_the_add_in_sends_it(self, client):
        page = client.get("/taskpane.html").text
        assert 'id="lb-token"' in page and "/js/sign-in.js" in page
        script = client.get("/static/js/auth.js").text
        assert 'localStorage.getItem("leadbook.token")' in script
        assert 'provider: "leadbook"' in script


def test_a_warm_server_collects_young_objects_less_often(monkeypatch):
    # after its first press the server freezes its heap and collects young objects every
    # YOUNG_COLLECTION allocations: a press's workbooks were walked by ~170 collections
    import gc

    monkeypatch.setattr(server, "_settled", False)
    before = gc.get_threshold()
    try:
        server._settle_heap()
        assert gc.get_threshold() == (server.YOUNG_COLLECTION, *before[1:])
        assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
