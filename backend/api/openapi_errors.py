"""The 422 answer as the OpenAPI document describes it.

FastAPI declares a 422 on every route with a body or parameters, shaped as its own validation
error (`detail`: a list of field errors). Routes also answer 422 with a reason of their own
(`detail`: a string) when a well-formed request cannot be carried out, e.g. an empty message
or a family name the channel requires. Clients and tests read that string, so the document is
corrected to say both, rather than the answers reshaped.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

REASON = {"type": "string", "description": "why the request could not be carried out"}


def document_reason_details(app: FastAPI) -> None:
    """Make the document's `HTTPValidationError.detail` a field-error list or a reason."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # FastAPI's own, cached on the app after the first call
        error = document.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        if error is not None and "anyOf" not in error["properties"]["detail"]:
            listed = error["properties"]["detail"]
            error["properties"]["detail"] = {"anyOf": [listed, REASON], "title": "Detail"}
        return document

    app.openapi = openapi  # type: ignore[method-assign]
