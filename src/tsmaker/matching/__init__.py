"""Pairing spec-z with objects.

Planning over the object catalog's partitions, the per-partition match, positions on the
sphere, HEALPix, and ranking.
"""
