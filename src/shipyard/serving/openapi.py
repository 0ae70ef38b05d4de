"""What the service's OpenAPI document must say beyond what BentoML generates: the body is
required, a 400 lists problems, and the statuses the middleware (serving.middleware) and
BentoML's traffic control answer. Clients and contract tests (`make contract-test`, with
schemathesis) read this document, so it is tested against the running service."""

from __future__ import annotations

import copy
from typing import Any

ARROW = "application/vnd.apache.arrow.stream"  # as serving.middleware takes it

ERROR = {
    "type": "object",
    "title": "Error",
    "required": ["error"],
    "properties": {"error": {"type": "string", "title": "Message"}},
}
PROBLEMS = {
    "type": "object",
    "title": "RequestProblems",
    "required": ["error", "detail", "problems"],
    "properties": {
        "error": {"type": "string", "title": "Message"},
        "detail": {
            "type": "array",
            "title": "The first problems",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "problems": {"type": "integer", "title": "How many problems in all"},
    },
}
ERRORS = {
    "400": ("Bad Request: the request's problems, the first ones named", "RequestProblems"),
    "408": ("Request Timeout: the body did not arrive in time", "Error"),
    "413": ("Content Too Large: over the body limit", "Error"),
    "415": ("Unsupported Media Type: a body of a media type the operation does not take", "Error"),
    "503": ("Service Unavailable: shed by adaptive batching past its deadline", "Error"),
    "504": ("Gateway Timeout: not answered within the request timeout", "Error"),
}


def amend(
    spec: dict[str, Any], paths: tuple[str, ...] = ("/predict", "/feedback")
) -> dict[str, Any]:
    """BentoML's document for the service, with each of `paths`' POST made exact."""
    spec = copy.deepcopy(spec)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"], schemas["RequestProblems"] = ERROR, PROBLEMS
    for path in paths:
        operation = spec["paths"][path]["post"]
        operation["requestBody"]["required"] = True
        if path == "/predict":  # the same rows as an Arrow IPC stream (serving.columns)
            operation["requestBody"]["content"][ARROW] = {
                "schema": {"type": "string", "format": "binary"}
            }
        for status, (description, schema) in ERRORS.items():
            ref = {"$ref": f"#/components/schemas/{schema}"}
            operation["responses"][status] = {
                "description": description,
                "content": {"application/json": {"schema": ref}},
            }
    return spec
