"""What a run reads.

Object-catalog profiles and HATS files, redshift catalogs and their cleaning, row
filters, and the resolution of catalog references to locations.
"""
