"""The built-in offline demo (``demo`` and ``demo-specz``) and the DP1-shaped mock
generators it is made with; also used by the tests and the benchmark."""
