"""The calibration file's schema (version 1), as JSON Schema (draft 2020-12).

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
#: The deepest nesting of arrays and objects (the schema's deepest is 4).
MAX_NESTING = 8
#: The most threads a file may say it was calibrated with.
MAX_THREADS = 4096

_ERROR = {"anyOf": [{"type": "null"}, {"type": "number", "minimum": 0, "maximum": 1e6}]}
_TEXT = {"type": "string", "maxLength": 1000}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "mbcost latency calibration, version 1",
    "type": "object",
    "required": ["format", "version", "runtime", "threads", "models"],
    "properties": {
        "format": {"const": "mbcost-latency"},
        "version": {"const": 1},
        "machine": _TEXT,
        "runtime": {"enum": ["torch", "onnxruntime"]},
        "threads": {"type": "integer", "minimum": 1, "maximum": MAX_THREADS},
        "versions": {"type": "object", "maxProperties": 100, "additionalProperties": _TEXT},
        "created": _TEXT,
        "seconds_spent": {"type": "number", "minimum": 0, "maximum": 1e7},
        "bandwidth_bytes_per_s": {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 0,
                                                                 "maximum": 1e15}]},
        "call_overhead_s": {"anyOf": [{"type": "null"}, {"type": "number", "minimum": 0, "maximum": 10}]},
        "peak_macs_per_s": {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 0, "maximum": 1e18}]},
        "features": {"type": "array", "maxItems": 10, "items": _TEXT},
        "forms": {"type": "object", "maxProperties": 10, "additionalProperties": _TEXT},
        "models": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"enum": ["pw", "conv", "dw", "group", "fc", "pool", "gpool", "se", "other"]},
            "additionalProperties": {
                "type": "object",
                "required": ["form", "coef", "train", "heldout"],
                "properties": {
                    "form": {"enum": ["linear", "roofline"]},
                    # c0 seconds; c1, c2, c3 seconds per Mult-Add, per other operation, per byte
                    "coef": {"type": "array", "minItems": 4, "maxItems": 4,
                             "prefixItems": [{"type": "number", "minimum": 0, "maximum": 3600}],
                             "items": {"type": "number", "minimum": 0, "maximum": 1}},
                    "train": {"type": "integer", "minimum": 0, "maximum": 10**9},
                    "heldout": {"type": "integer", "minimum": 0, "maximum": 10**9},
                    "heldout_median_error": _ERROR,
                    "heldout_worst_error": _ERROR,
                    "other_form_heldout_median_error": _ERROR,
                },
            },
        },
        "network": {
            "type": "object",
            "properties": {
                "scale": {"type": "number", "minimum": 0, "maximum": 1e3},
                "per_row_s": {"type": "number", "minimum": 0, "maximum": 10},
                "per_byte_s": {"type": "number", "minimum": 0, "maximum": 1},
                "networks": {"type": "integer", "minimum": 0, "maximum": 10**9},
                "median_error": _ERROR,
                "worst_error": _ERROR,
                "form": _TEXT,
            },
            "dependentRequired": {"scale": ["per_row_s"], "per_row_s": ["scale"]},
        },
        "batch_check": {
            "type": "object",
            "properties": {"note": _TEXT},
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "count": {"type": "integer", "minimum": 0, "maximum": 10**9},
                    "median_error": _ERROR,
                    "worst_error": _ERROR,
                    "mean_signed_error": {"type": "number", "minimum": -1e6, "maximum": 1e6},
                },
            },
        },
        "heldout_median_error_worst_kind": _ERROR,
        # the measured shapes, kept for reference and never read back: only bounded here (a schema for
        # each of 100,000 items would cost seconds)
        "samples": {"type": "array", "maxItems": 1_000_000},
    },
}
