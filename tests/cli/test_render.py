"""What the CLI prints about a product's representativeness figures."""

from tsmaker.cli.render import representativeness_lines, shown_record

FIGURES = {
    "bands": ["g", "r", "i"],
    "coverage_fraction": 0.5,
    "coverage_fraction_by_magnitude": [
        {"magnitude_min": None, "magnitude_max": 17.0, "photometric_objects": 4,
         "fraction": 1.0},
        {"magnitude_min": 17.0, "magnitude_max": 18.0, "photometric_objects": 0,
         "fraction": None},
        {"magnitude_min": 18.0, "magnitude_max": None, "photometric_objects": 4,
         "fraction": 0.0},
    ],
    "completeness_50_mag": {"i": 22.004, "g": None, "r": 22.5},
    "photometric_sample": {"objects": 12345},
    "grid": {"magnitude_band": "i", "colours": ["g-r", "r-i"], "cells": {"index": [1]}},
    "histograms": {"training": {}},
}


def test_summary_lines_say_coverage_and_completeness_in_band_order():
    assert list(representativeness_lines(FIGURES)) == [
        "  coverage: 50.0% of the photometric sample (12,345 objects) is in an (i, g-r, r-i) "
        "cell holding a training galaxy",
        "  coverage by i: <17 100%, 17-18 -, >=18 0%",
        "  50% completeness vs the photometric sample: g -, r 22.50, i 22.00 mag",
    ]
    assert list(representativeness_lines(None)) == []


def test_shown_record_leaves_the_counts_to_json():
    record = {"full_name": "x_1", "summary": {"rows": 3, "representativeness": FIGURES}}
    shown = shown_record(record)
    figures = shown["summary"]["representativeness"]
    assert "grid" not in figures and "histograms" not in figures
    assert figures["coverage_fraction"] == 0.5 and figures["histograms, grid"] == "see --json"
    assert record["summary"]["representativeness"] is FIGURES and "grid" in FIGURES
