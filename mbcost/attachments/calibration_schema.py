"""The calibration file's schema (version 2), as JSON Schema (draft 2020-12).

Validated with the ``jsonschema`` library (see :func:`mbcost.attachments.latency.load`):
a declarative schema is a document of its own (docs/latency.md shows where it is)
that other tools can read, and jsonschema checks JSON's own types exactly (a
string is never a number, ``true`` is never 1), where pydantic's models coerce
by default and add a compiled dependency and its import time to every command
that reads a file. Finite numbers are enforced by the JSON reader itself
(``Infinity``, ``NaN`` and ``1e400`` are refused while parsing); the ranges below
keep every coefficient one a real machine can have.
"""

from __future__ import annotations

#: The largest calibration file read, in bytes (one written by ``mbcost calibrate``
#: is well under 1 MB): a larger one is refused before it is read.
MAX_BYTES = 4 * 2**20
#: The deepest nesting of arrays and objects (a file's deepest is 4).
MAX_NESTING = 8
#: The most threads a file may say it was calibrated with.
MAX_THREADS = 4096

_ERROR = {"anyOf": [{"type": "null"}, {"type": "number", "minimum": 0, "maximum": 1e6}]}
_TEXT = {"type": "string", "maxLength": 1000}
_COUNT = {"type": "integer", "minimum": 0, "maximum": 10**9}
_SUMMARY = {"type": "object", "maxProperties": 20,
            "properties": {"count": _COUNT, "median_error": _ERROR, "worst_error": _ERROR,
                           "mean_signed_error": {"type": "number", "minimum": -1e6, "maximum": 1e6}}}


def _kind_model(features: tuple[str, ...]) -> dict:
    # seconds per unit: per call at most an hour, per Mult-Add, element, byte or plane at most a second
    return {"type": "object", "additionalProperties": False,
            "properties": {f: {"type": "number", "minimum": 0, "maximum": 3600 if f == "calls" else 1}
                           for f in features}}


def _schema() -> dict:
    from mbcost.attachments.latency_ops import KIND_FEATURES

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mbcost latency calibration, version 2",
        "type": "object",
        "required": ["format", "version", "runtime", "threads", "coef", "l2_bytes", "correction"],
        "properties": {
            "format": {"const": "mbcost-latency"},
            "version": {"const": 2},
            "machine": _TEXT,
            "runtime": {"enum": ["torch", "onnxruntime"]},
            "threads": {"type": "integer", "minimum": 1, "maximum": MAX_THREADS},
            "versions": {"type": "object", "maxProperties": 100, "additionalProperties": _TEXT},
            "created": _TEXT,
            "seconds_spent": {"type": "number", "minimum": 0, "maximum": 1e7},
            "clock": {"enum": ["cpu", "wall"]},
            "l2_bytes": {"type": "integer", "minimum": 1024, "maximum": 2**40},
            "bandwidth_bytes_per_s": {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 0,
                                                                     "maximum": 1e15}]},
            "peak_macs_per_s": {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 0,
                                                               "maximum": 1e18}]},
            "ridge_point_macs_per_byte": {"anyOf": [{"type": "null"}, {"type": "number", "minimum": 0}]},
            "model": _TEXT,
            "coef": {"type": "object", "minProperties": 1, "additionalProperties": False,
                     "properties": {kind: _kind_model(features) for kind, features in KIND_FEATURES.items()}},
            "correction": {"type": "object", "required": ["scale", "per_pass_s"],
                           "properties": {"scale": {"type": "number", "minimum": 0, "maximum": 1e3},
                                          "per_pass_s": {"type": "number", "minimum": 0, "maximum": 10}}},
            "fit": {"type": "object", "maxProperties": 20,
                    "properties": {"fitted": _SUMMARY, "heldout": _SUMMARY, "allocator": _TEXT,
                                   "measured_call_overheads_s": {
                                       "type": "object", "maxProperties": 100,
                                       "additionalProperties": {"type": "number", "minimum": 0, "maximum": 3600}}}},
            # the networks fitted and held out, and the validation's configurations: listed for the reader,
            # only bounded here (never read back for a prediction)
            "networks": {"type": "array", "maxItems": 100_000},
            "validation": {"type": "array", "maxItems": 100_000},
        },
    }


SCHEMA = _schema()
