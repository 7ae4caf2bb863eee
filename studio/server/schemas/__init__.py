"""What the API answers: one module per area with the pydantic models of its success bodies.

A route names its model with `response=` (studio/server/routing.py); /openapi.json publishes it
inside the path's family (seed 000's `{"status": ..., <fields>}` or the `{success, data, ...}`
envelope), and the test suite checks every response it sees against it
(tests/support/contract.py). Models list every field (`Out` forbids others), so a field added to
a handler without its documentation fails the tests.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    """Base of response models: every field documented, nothing else sent."""

    model_config = ConfigDict(extra="forbid")


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent(description: str | None = None) -> Any:
    """A field sent only in some states (its description says when): not required, never null
    unless its type says so, and no default shown in the schema."""
    return Field(default=None, description=description, json_schema_extra=_drop_default)


# --- shared by the areas that call back (services/webhooks.py's delivery records) ---------------
class WebhookAttemptOut(Out):
    attempt: int
    at: str
    status_code: int = absent("The receiver's HTTP status; absent when no answer came back")
    error: str = absent("Why no answer came back; absent when one did")
    duration_ms: float = absent("Absent when the address was refused")


class WebhookDeliveryOut(Out):
    delivery_id: str
    event: str = Field(description="The event delivered, e.g. generation.completed or batch.completed")
    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: list[WebhookAttemptOut]
    next_attempt_in_s: float = absent("Seconds; present while waiting to retry")
