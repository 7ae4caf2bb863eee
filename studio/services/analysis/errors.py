"""The analysis area's errors: what the user can fix carries seed 004's `code` and HTTP status."""

from __future__ import annotations

from typing import Any


class AnalysisError(Exception):
    """A problem with the input the user can fix; `code` and `http_status` are seed 004's."""

    code = "ANALYSIS_FAILED"
    http_status = 400

    def __init__(self, message: str, *, details: Any = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        out = {"code": self.code, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        return out


class InvalidFileFormat(AnalysisError):
    code = "INVALID_FILE_FORMAT"


class FileTooLarge(AnalysisError):
    code = "FILE_TOO_LARGE"


class CorruptAudio(AnalysisError):
    code = "CORRUPT_AUDIO"


class AudioTooLong(AnalysisError):
    code = "AUDIO_TOO_LONG"


class MissingParameter(AnalysisError):
    code = "MISSING_PARAMETER"


class InvalidParameter(AnalysisError):
    code = "INVALID_PARAMETER"


class ModelUnavailable(AnalysisError):
    code = "MODEL_UNAVAILABLE"
    http_status = 503


class InferenceFailed(AnalysisError):
    code = "MODEL_INFERENCE_FAILED"
    http_status = 500


class UnknownPrediction(KeyError):
    pass


class UnknownBatch(KeyError):
    pass
