"""What a run means, owned by tsmaker.parameters: defaults, validation, precedence, naming."""

import math
from pathlib import Path

import pytest

from tsmaker.errors import InputError, ParameterError
from tsmaker.parameters import (
    RunParameters,
    flag_of,
    load_config,
    parse_extinction_coeffs,
    save_config,
)

REQUIRED = {"name": "t", "redshift_catalog": "specz.parquet", "object_catalog": "objects"}


def test_explicit_values_beat_the_config_file_which_beats_the_earlier_product(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('[run]\nradius = 2.0\nneighbors = 3\nformat = "fits"\nworkers = 2\n')
    like = {**REQUIRED, "radius_arcsec": 0.5, "n_neighbors": 2, "dust": "catalog",
            "seed": 7, "execution": {"workers": 8}, "bands": ["g"], "sort_order": "x"}

    merged = RunParameters.from_sources({"radius": 1.5, "seed": None}, like=like, config=config)

    assert merged.radius_arcsec == 1.5  # explicit over config over like
    assert merged.n_neighbors == 3  # config over like
    assert merged.output_format == "fits"  # config only
    assert merged.dust == "catalog" and merged.seed == 7  # like only; None is "not given"
    assert merged.execution == {"workers": 2}  # a rerun chooses its own execution
    assert merged.name == "t"


def test_flag_and_field_names_are_both_understood():
    by_flag = RunParameters.from_sources({"name": "a", "redshift": "s", "object": "o",
                                          "neighbors": 4, "z-flag": "qual", "format": "csv"})
    by_field = RunParameters.from_sources({"name": "a", "redshift_catalog": "s",
                                           "object_catalog": "o", "n_neighbors": 4,
                                           "z_flag_column": "qual", "output_format": "csv"})
    assert by_flag == by_field
    assert flag_of("z_flag_column") == "--z-flag" and flag_of("n_neighbors") == "--neighbors"


def test_missing_and_unknown_parameters_are_named_in_each_naming():
    with pytest.raises(ParameterError) as raised:
        RunParameters.from_sources({"name": "a"})
    assert str(raised.value) == "missing required parameters: redshift_catalog, object_catalog"
    assert raised.value.message("cli") == "missing required parameters: --redshift, --object"
    with pytest.raises(InputError, match="unknown parameter 'colour'"):
        RunParameters.from_sources({**REQUIRED, "colour": "red"})


@pytest.mark.parametrize(("changes", "parameter", "cli_message"), [
    ({"radius_arcsec": math.nan}, "radius_arcsec", "--radius nan must be a number greater than 0"),
    ({"n_neighbors": 1.5}, "n_neighbors", "--neighbors 1.5 must be a whole number >= 1"),
    ({"output_format": "xls"}, "output_format",
     "--format 'xls' is not one of: parquet, csv, fits, hdf5, hats"),
    ({"dust": "foo"}, "dust", "--dust 'foo' is not one of: none, catalog, sfd"),
    ({"coord_unit": "x"}, "coord_unit", "--coord-unit 'x' is not one of: auto, deg, hour, rad"),
    ({"split_fraction": 1.0}, "split_fraction", "--split 1.0 must be between 0 and 1"),
    ({"z_min": math.nan}, "z_min", "--z-min nan must be a finite number"),
    ({"z_min": 2.0, "z_max": 1.0}, "z_min", "--z-min 2.0 is larger than --z-max 1.0"),
    ({"name": "two\nlines"}, "name", "--name 'two\\nlines' holds control characters"),
    ({"zero_point": math.inf}, "zero_point", "--zero-point inf must be a finite number"),
])
def test_validation_names_the_parameter(changes, parameter, cli_message):
    parameters = RunParameters(**{**REQUIRED, **changes})
    with pytest.raises(ParameterError) as raised:
        parameters.validate()
    assert raised.value.parameter == parameter
    assert raised.value.message("cli").startswith(cli_message)
    assert str(raised.value).startswith(parameter)


def test_defaults_are_valid_and_documented():
    parameters = RunParameters(**REQUIRED)
    parameters.validate()
    assert (parameters.radius_arcsec, parameters.n_neighbors, parameters.output_format,
            parameters.zero_point, parameters.dust) == (1.0, 1, "parquet", 31.4, "none")


def test_saved_config_reads_back_to_the_same_parameters(tmp_path):
    parameters = RunParameters(**REQUIRED, radius_arcsec=2.5, extinction_coeffs={"g": 3.6},
                               where="z > 0.1", execution={"workers": 2})
    path = save_config(parameters, tmp_path / "run.toml")
    assert [p.name for p in tmp_path.iterdir()] == ["run.toml"]  # no temporary left
    again = RunParameters.from_sources({}, config=path)
    assert again == parameters
    assert load_config(path)["radius"] == 2.5


def test_extinction_coefficients_text():
    assert parse_extinction_coeffs("u=4.81, g=3.64") == {"u": 4.81, "g": 3.64}
    for text in ("u=4.8,g", "u=abc", "", "u=nan"):
        with pytest.raises(ParameterError) as raised:
            parse_extinction_coeffs(text)
        assert raised.value.message("cli").startswith("--extinction-coeffs")


@pytest.mark.slow
def test_python_api_takes_like_and_config_and_saves_only_valid_parameters(tmp_path):
    from tsmaker import make_training_set

    home_products = tmp_path / "out"
    first = make_training_set("demo_a", "demo-specz", "demo", radius_arcsec=2.0, n_neighbors=2,
                              output_dir=home_products)
    config = tmp_path / "saved.toml"
    config.write_text("# an existing config\n")
    with pytest.raises(ParameterError, match="radius_arcsec 0 must be"):
        make_training_set(like=first.full_name, name="bad", radius_arcsec=0,
                          save_config=config)
    assert config.read_text() == "# an existing config\n"  # refused run: config untouched

    again = make_training_set(like=first.full_name, name="demo_b", save_config=config)
    assert again.parameters["radius_arcsec"] == 2.0 and again.parameters["n_neighbors"] == 2
    assert again.rows == first.rows
    from_file = make_training_set(name="demo_c", config=config, n_neighbors=1)
    assert from_file.parameters["radius_arcsec"] == 2.0
    assert from_file.parameters["n_neighbors"] == 1
    assert Path(from_file.files[0]).parent == home_products


def test_numpy_scalars_are_numbers_like_python_ones():
    import numpy as np

    RunParameters(**REQUIRED, n_neighbors=np.int64(2), split_fraction=np.float32(0.5),
                  radius_arcsec=np.float64(1.5)).validate()
    with pytest.raises(ParameterError, match="n_neighbors True must be a whole number"):
        RunParameters(**REQUIRED, n_neighbors=True).validate()


def test_extinction_coefficient_messages_speak_each_front_end_s_language():
    with pytest.raises(ParameterError) as raised:
        parse_extinction_coeffs("u=4.8,g")
    assert raised.value.message("cli") == (
        "--extinction-coeffs: cannot read 'g'; write band=value pairs, e.g. u=4.81,g=3.64,r=2.70")
    assert "{'u': 4.81, 'g': 3.64}" in str(raised.value)
def test_problems_lists_every_bad_value_and_validate_raises_the_first():
    wrong = RunParameters(**{**REQUIRED, "name": " "}, radius_arcsec=-1.0, n_neighbors=1.5,
                          dust="dusty", split_fraction=1.0, z_min=2.0, z_max=1.0)
    problems = wrong.problems()
    assert [error.parameter for error in problems] == [
        "name", "radius_arcsec", "n_neighbors", "dust", "split_fraction", "z_min"]
    assert [error.message("cli") for error in problems][3:] == [
        "--dust 'dusty' is not one of: none, catalog, sfd, csfd, planck, planck-gnilc",
        "--split 1.0 must be between 0 and 1 (exclusive), e.g. --split 0.8",
        "--z-min 2.0 is larger than --z-max 1.0; swap them (--z-min is the lower bound)",
    ]
    with pytest.raises(ParameterError) as raised:
        wrong.validate()
    assert raised.value is not None and raised.value.parameter == "name"
    assert RunParameters(**REQUIRED).problems() == []
    # A bound that is no number is its own problem, not also an inverted range.
    assert [e.parameter for e in RunParameters(**REQUIRED, z_min=math.nan, z_max=0).problems()
            ] == ["z_min"]
