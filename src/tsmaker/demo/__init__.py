"""The built-in offline demo (``demo`` and ``demo-specz``) and its mock generators.

The DP1-shaped mock catalogs the demo is made with also serve the tests and the
benchmark.
"""
