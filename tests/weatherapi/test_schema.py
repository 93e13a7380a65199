"""The OpenAPI schema: valid, committed, complete for every /v1/ operation; docs pages local."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from openapi_spec_validator import validate

from weatherapi.errors import TITLES

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.yaml"
REGENERATE = "python manage.py spectacular --file docs/openapi.yaml --validate"
DESIGN_ERROR_CODES = [
    "invalid_parameter", "authentication_required", "invalid_credentials", "permission_denied",
    "not_found", "method_not_allowed", "location_not_found", "rate_limited", "quota_exceeded",
    "upstream_unavailable", "upstream_timeout", "service_unavailable", "internal_error",
]
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    # Through the YAML renderer, as the committed file is written.
    return yaml.safe_load(OpenApiYamlRenderer().render(generated, renderer_context={}))


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        if path.startswith("/v1/")
        for method, op in item.items()
    ]


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_committed_schema_is_current(schema):
    assert COMMITTED.is_file(), f"docs/openapi.yaml is missing; run: {REGENERATE}"
    committed = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    assert committed == schema, (
        f"docs/openapi.yaml differs from the schema the code generates; regenerate it with: {REGENERATE}"
    )


def test_every_v1_route_is_in_the_schema(schema):
    expected = {"/v1/weather/current", "/v1/weather/forecast", "/v1/geocode", "/v1/geocode/reverse",
                "/v1/air-quality", "/v1/account", "/v1/account/usage", "/v1/account/invoices"}
    assert expected <= set(schema["paths"])


def test_components_are_named_not_inline(schema):
    names = list(schema["components"]["schemas"])
    assert not [n for n in names if n.startswith("Inline") or re.search(r"\d+$", n)], names
    for name in ("Problem", "ErrorCode", "CurrentWeather", "Forecast", "Geocode", "AirQuality", "Source"):
        assert name in names
    assert set(schema["components"]["schemas"]["ErrorCode"]["enum"]) >= set(DESIGN_ERROR_CODES)


def test_security_schemes(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert schemes["oauth2"]["type"] == "oauth2"
    assert flow["tokenUrl"] == "/o/token/"
    assert set(flow["scopes"]) == {"weather:read", "account:read", "account:write"}


@pytest.mark.parametrize("path", ["/v1/weather/current", "/v1/weather/forecast", "/v1/geocode",
                                  "/v1/geocode/reverse", "/v1/air-quality", "/v1/account",
                                  "/v1/account/usage", "/v1/account/invoices"])
def test_operation_security_lists_the_views_scope(schema, path):
    view = resolve(path).func.view_class
    security = schema["paths"][path]["get"]["security"]
    assert {"apiKey": []} in security
    assert {"oauth2": sorted(view.required_scopes)} in security


def test_every_operation_is_documented(schema):
    for path, method, op in _operations(schema):
        label = f"{method.upper()} {path}"
        assert op.get("operationId"), label
        assert op.get("summary"), label
        assert op.get("description"), label
        assert op.get("tags"), label
        # The one success answer: 200, or 201/202 for a POST that makes something, 204 for a DELETE.
        (success,) = [status for status in op["responses"] if status.startswith("2")]
        ok = op["responses"][success]
        if success == "204":
            assert "content" not in ok, label
        else:
            assert ok["content"]["application/json"]["schema"]["$ref"].startswith("#/components/schemas/"), label
        for name in ("X-Request-ID", "RateLimit-Policy", "RateLimit"):
            assert ok["headers"][name]["required"] is True, (label, name)
        for status in ("401", "403", "429", "503"):
            assert status in op["responses"], (label, status)
        for status, response in op["responses"].items():
            if status.startswith("2"):
                continue
            assert list(response["content"]) == [PROBLEM], (label, status)
            assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert response["description"], (label, status)
            assert response["content"][PROBLEM].get("examples"), (label, status)
            assert response["headers"]["X-Request-ID"]["required"] is True
        assert op["responses"]["429"]["headers"]["Retry-After"]["required"] is True, label
        assert "Retry-After" in op["responses"]["503"]["headers"], label
        assert "WWW-Authenticate" in op["responses"]["401"]["headers"], label
        assert "RateLimit" not in op["responses"]["401"]["headers"], label


def test_provider_operations_document_upstream_errors(schema):
    for path in ("/v1/weather/current", "/v1/weather/forecast", "/v1/geocode", "/v1/geocode/reverse",
                 "/v1/air-quality"):
        responses = schema["paths"][path]["get"]["responses"]
        assert {"400", "503", "504"} <= set(responses), path
    for path in ("/v1/weather/current", "/v1/weather/forecast"):
        examples = schema["paths"][path]["get"]["responses"]["404"]["content"][PROBLEM]["examples"]
        assert [e["value"]["code"] for e in examples.values()] == ["location_not_found"]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else node


def test_every_parameter_has_type_example_and_bounds(schema):
    for path, method, op in _operations(schema):
        for parameter in op.get("parameters", []):
            label = f"{method.upper()} {path} {parameter['name']}"
            assert parameter.get("description"), label
            assert "example" in parameter or "examples" in parameter, label
            param_schema = parameter["schema"]
            assert param_schema.get("type"), label
            if param_schema["type"] in ("integer", "number"):
                assert "minimum" in param_schema and "maximum" in param_schema, label
    params = {p["name"]: p for p in schema["paths"]["/v1/weather/forecast"]["get"]["parameters"]}
    assert params["units"]["schema"]["enum"] == ["metric", "imperial", "standard"]
    assert (params["cnt"]["schema"]["minimum"], params["cnt"]["schema"]["maximum"]) == (1, 40)
    assert params["cnt"]["schema"]["default"] == 40


# Issue 20, item 3: generated clients send what the API takes.


@pytest.mark.parametrize("path", ["/v1/weather/current", "/v1/weather/forecast"])
def test_location_is_four_plain_optional_query_parameters(schema, path):
    op = schema["paths"][path]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert "location" not in params
    for name in ("lat", "lon", "q", "zip"):
        assert params[name]["in"] == "query" and params[name].get("required", False) is False, name
        assert "exactly one location" in params[name]["description"].lower(), name
    assert "exactly one location" in op["description"].lower()
    lat, lon, q, zip_ = (params[n]["schema"] for n in ("lat", "lon", "q", "zip"))
    assert (lat["type"], lat["minimum"], lat["maximum"]) == ("number", -90, 90)
    assert (lon["type"], lon["minimum"], lon["maximum"]) == ("number", -180, 180)
    assert q["type"] == "string" and q["maxLength"] == 100 and q["pattern"]
    assert zip_["type"] == "string" and zip_["pattern"]
    # The rule's 400 is documented, with the answer the server gives.
    bad = op["responses"]["400"]
    assert "exactly one" in bad["description"]
    examples = [e["value"] for e in bad["content"][PROBLEM]["examples"].values()]
    assert {"location": ["Give exactly one location: lat and lon, q, or zip."]} in [e.get("errors") for e in examples]


def test_every_query_parameter_is_a_scalar(schema):
    """No object-valued (form-exploded, deepObject...) parameter: code generators send those
    as one parameter holding the object."""
    for path, method, op in _operations(schema):
        for parameter in op.get("parameters", []):
            label = f"{method.upper()} {path} {parameter['name']}"
            param_schema = _resolve(schema, parameter["schema"])
            assert param_schema.get("type") in ("string", "number", "integer", "boolean"), label
            assert not {"oneOf", "anyOf", "allOf", "properties"} & set(param_schema), label
            assert "style" not in parameter and "explode" not in parameter, label


def test_guides_cover_the_contract(schema):
    guides = schema["info"]["description"]
    for heading in ("## Authentication", "## Test mode", "## Locations, units and languages",
                    "## Caching and the source object", "## Rate limits and quotas", "## Jobs and webhooks",
                    "## Errors"):
        assert heading in guides
    # ReDoc's sidebar lists the headings as plain text: markup there shows as literal tags.
    headings = re.findall(r"^#+ .*$", guides, flags=re.MULTILINE)
    assert [h for h in headings if re.search(r"[`*_<\[]", h)] == []
    for code in DESIGN_ERROR_CODES:
        assert f"`{code}`" in guides, code
    assert set(DESIGN_ERROR_CODES) <= set(TITLES)
    for fact in ("X-API-Key", "/o/token/", "client_credentials", "wx_test_", "nowhere", "00000",
                 "inches", "metres", "600", "1800", "86400", "6 hours", "fetched_at", "age_seconds",
                 "RateLimit-Policy", "Retry-After", "curl "):
        assert fact in guides, fact


_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_are_public_and_load_only_local_assets(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assets = _ASSET.findall(html)
    assert assets, "no assets found: did the page change?"
    assert [a for a in assets if not a.startswith("/")] == []
    assert not re.search(r"https?://(?!testserver)", html), re.findall(r"https?://[^\s\"'<>]+", html)
    for asset in assets:
        if asset.startswith("/static/"):
            assert client.get(asset).status_code in (200, 304) or _static_exists(asset), asset


def _static_exists(asset: str) -> bool:
    from django.contrib.staticfiles import finders

    return finders.find(asset.removeprefix("/static/")) is not None


def test_schema_endpoint_is_public_even_with_a_bad_key(client):
    response = client.get("/api/schema/", HTTP_X_API_KEY="wx_live_bogus")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(response.content)["info"]["title"] == "Weather API"


@pytest.mark.parametrize("path", ["/v1/weather/current", "/v1/weather/forecast", "/v1/geocode",
                                  "/v1/geocode/reverse", "/v1/air-quality", "/v1/account"])
def test_success_examples_match_their_schema(schema, path):
    import jsonschema

    content = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    assert content.get("examples"), path
    # OpenAPI 3.0 `nullable` is not JSON Schema: turn it into a type union for the check.
    def convert(node):
        if isinstance(node, dict):
            node = {k: convert(v) for k, v in node.items()}
            if node.pop("nullable", False) and "type" in node:
                node["type"] = [node["type"], "null"]
            if "$ref" in node:
                node["$ref"] = node["$ref"].replace("#/components/schemas/", "#/$defs/")
            return node
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    defs = convert(schema["components"]["schemas"])
    root = {**convert(content["schema"]), "$defs": defs}
    for example in content["examples"].values():
        jsonschema.validate(example["value"], root)


# --- Issue 19, item 6: /api/schema/ is built once per process -------------------------------


@pytest.fixture
def fresh_schema_view():
    from weatherapi.views import SchemaView

    SchemaView.clear()
    yield
    SchemaView.clear()


@pytest.mark.django_db
def test_schema_endpoint_builds_the_document_once_per_process(client, monkeypatch, fresh_schema_view):
    builds = []
    original = SchemaGenerator.get_schema

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        builds.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counting)
    yaml_bodies = {client.get("/api/schema/").content for _ in range(3)}
    json_bodies = {client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
                   for _ in range(2)}
    # Parameters that used to force a rebuild each (an attacker picks a new value each time).
    client.get("/api/schema/?lang=de")
    client.get("/api/schema/?version=x1")
    client.get("/api/schema/", HTTP_ACCEPT="application/json; indent=7")
    assert len(builds) == 1
    assert len(yaml_bodies) == 1 and len(json_bodies) == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_production_schema_is_the_committed_document_in_both_formats(tmp_path):
    import json

    import requests

    from tests.support.production import HTTPS, production_server

    committed = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    with production_server(tmp_path) as server:
        for _ in range(2):
            served = requests.get(f"{server.url}/api/schema/", headers=HTTPS, timeout=30)
            assert served.status_code == 200
            assert served.headers["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
            assert yaml.safe_load(served.content) == committed
        as_json = requests.get(f"{server.url}/api/schema/",
                               headers={**HTTPS, "Accept": "application/vnd.oai.openapi+json"}, timeout=30)
        assert as_json.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
        assert json.loads(as_json.content) == committed
        assert as_json.headers["Content-Disposition"] == 'inline; filename="Weather API.json"'
